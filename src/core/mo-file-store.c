/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <errno.h>
#include <glib/gi18n-lib.h>
#include <glib/gstdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "mo-error.h"
#include "mo-file-store.h"
#include "mo-file.h"
#include "mo-journal.h"
#include "mo-json-lenient.h"
#include "mo-json.h"
#include "mo-lock.h"
#include "mo-provider.h"
#include "mo-secure.h"

#define MO_SASL_XOAUTH2_CONFIG "/etc/sasl-xoauth2.conf"
/* the runtime directory of the export's timer (RuntimeDirectory=mailoauth) */
#define MO_FILE_STORE_RUN_DIR "/run/mailoauth"

/* A sasl-xoauth2 token file as a MoTokenStore: what the SASL plugin uses inside postfix, where
 * there is no keyring. Each load re-reads the file (another process may have refreshed it);
 * a save rewrites it atomically, keeping unknown keys, its mode and its owner. */
typedef struct {
	MoTokenStore parent;
	gchar *path;
	gchar *lock_path;
	gchar *journal_paths[3]; /* beside the lock; the runtime directory's tmpfs */
	MoTokenFile *file;	 /* as last loaded */
	struct stat st;		 /* of the file as last loaded */
} MoFileStore;

static MoToken *
mo_file_store_load(MoTokenStore *store, GError **error)
{
	MoFileStore *self = (MoFileStore *)store;
	mo_autosecret gchar *data = NULL;
	MoTokenFile *file;
	gsize len = 0;

	data = mo_file_read_secret(self->path, MO_JSON_MAX_SIZE, &len, &self->st, error);
	if (data == NULL)
		return NULL;
	file = mo_token_file_parse(data, (gssize)len, self->path, error);
	mo_secure_wipe(data, len);
	if (file == NULL)
		return NULL;
	g_clear_pointer(&self->file, mo_token_file_free);
	self->file = file;
	return mo_token_copy(file->token);
}

/* sasl-xoauth2 keeps the client in its configuration file; a token file's own fields override
 * it, field by field. Seed-guide users' postfix files carry only the tokens. Tests point
 * MAILOAUTH_SASL_XOAUTH2_CONF at a file of their own. */
/**
 * mo_file_store_read_config:
 * @path: (out) (transfer full): the configuration file's path, for messages
 * @error: a #GError, or %NULL
 *
 * Reads sasl-xoauth2's configuration, as sasl-xoauth2 reads it (comments, a trailing comma
 * and a BOM allowed).
 *
 * Returns: (transfer full) (nullable): the configuration; %NULL without an error when there
 * is no such file, %NULL with @error when it cannot be read or parsed
 */
MoJson *
mo_file_store_read_config(gchar **path, GError **error)
{
	const gchar *override = secure_getenv("MAILOAUTH_SASL_XOAUTH2_CONF");
	g_autofree gchar *what = NULL;
	mo_autosecret gchar *data = NULL;
	mo_autosecret gchar *clean = NULL;
	struct stat st;
	gsize clean_len = 0;
	gsize len = 0;

	g_return_val_if_fail(error == NULL || *error == NULL, NULL);

	*path = g_strdup(override != NULL ? override : MO_SASL_XOAUTH2_CONFIG);
	if (lstat(*path, &st) != 0 && errno == ENOENT)
		return NULL;
	data = mo_file_read_secret(*path, MO_JSON_MAX_SIZE, &len, &st, error);
	if (data == NULL)
		return NULL;
	clean = mo_json_lenient_clean(data, len, &clean_len);
	what = g_strdup_printf(_("configuration file %s"), *path);
	return mo_json_parse_object(clean, (gssize)clean_len, what, error);
}

/* The file's field, else the configuration's, else NULL. */
static gchar *
mo_file_store_field(const gchar *own, const MoJson *config, const gchar *member)
{
	gchar *value = NULL;

	if (own != NULL)
		return g_strdup(own);
	if (config != NULL)
		mo_json_get_string(config, member, &value, member, NULL);
	return value;
}

/* A key of the file's own document that MoTokenFile does not model, else the
 * configuration's. */
static gchar *
mo_file_store_extra(const MoFileStore *self, const MoJson *config, const gchar *member)
{
	g_autofree gchar *own = NULL;

	mo_json_get_string(self->file->document, member, &own, member, NULL);
	return mo_file_store_field(own, config, member);
}

static MoApp *
mo_file_store_load_app(MoTokenStore *store, GError **error)
{
	g_autoptr(GError) error_local = NULL;
	MoFileStore *self = (MoFileStore *)store;
	g_autoptr(MoApp) app = mo_app_new(self->path, MO_PROVIDER_CUSTOM);
	g_autoptr(MoJson) config = NULL;
	g_autofree gchar *config_path = NULL;

	/* also for the CA and proxy keys, which either may hold */
	config = mo_file_store_read_config(&config_path, &error_local);
	if (error_local != NULL) {
		/* a broken configuration must not read as one that names no client */
		g_propagate_error(error, g_steal_pointer(&error_local));
		return NULL;
	}
	app->client_id = mo_file_store_field(self->file->client_id, config, "client_id");
	app->client_secret =
		mo_file_store_field(self->file->client_secret, config, "client_secret");
	app->token_endpoint =
		mo_file_store_field(self->file->token_endpoint, config, "token_endpoint");
	if (app->client_id == NULL) {
		g_set_error(error,
			    MO_ERROR,
			    MO_ERROR_INVALID_DATA,
			    _("Neither the token file %s nor %s names a client_id, so the token "
			      "cannot be refreshed; add client_id, client_secret and "
			      "token_endpoint to the file"),
			    self->path,
			    config_path != NULL ? config_path : MO_SASL_XOAUTH2_CONFIG);
		return NULL;
	}
	if (app->token_endpoint == NULL)
		app->token_endpoint = g_strdup(MO_SASL_XOAUTH2_DEFAULT_TOKEN_ENDPOINT);
	app->ca_bundle_file = mo_file_store_extra(self, config, "ca_bundle_file");
	app->ca_certs_dir = mo_file_store_extra(self, config, "ca_certs_dir");
	app->proxy = mo_file_store_extra(self, config, "proxy");
	if (!mo_app_validate(app, error))
		return NULL;
	return g_steal_pointer(&app);
}

static gboolean
mo_file_store_save(MoTokenStore *store, const MoToken *token, GError **error)
{
	MoFileStore *self = (MoFileStore *)store;
	mo_autosecret gchar *data = NULL;

	mo_token_free(self->file->token);
	self->file->token = mo_token_copy(token);
	data = mo_token_file_serialize(self->file);
	return mo_file_replace(self->path,
			       data,
			       strlen(data),
			       self->st.st_mode,
			       self->st.st_uid,
			       self->st.st_gid,
			       error);
}

static void mo_file_store_free(MoTokenStore *store);

/* sasl-xoauth2's refresh_window (the file's, else its configuration's): seconds before the
 * expiry at which the token is refreshed. */
static gint64
mo_file_store_margin(MoTokenStore *store, gint64 fallback)
{
	MoFileStore *self = (MoFileStore *)store;
	g_autofree gchar *config_path = NULL;
	g_autoptr(MoJson) config = NULL;
	gint64 window = 0;

	if (self->file == NULL)
		return fallback;
	if (mo_json_object_get(self->file->document, "refresh_window") != NULL) {
		if (mo_json_get_int64(self->file->document, "refresh_window", &window, "", NULL))
			return window;
		return fallback;
	}
	config = mo_file_store_read_config(&config_path, NULL);
	if (config != NULL && mo_json_object_get(config, "refresh_window") != NULL &&
	    mo_json_get_int64(config, "refresh_window", &window, "", NULL))
		return window;
	return fallback;
}

/* As OpenSSH refuses a key file others can write: a token file in a directory that other
 * users can write to (sticky or not, as /tmp) is refused. Any of them could put a lock file
 * of their own beside it and fail or stall every refresh, or a file of theirs in its place. */
static gboolean
mo_file_store_check_dir(const gchar *path, GError **error)
{
	g_autofree gchar *dir = g_path_get_dirname(path);
	struct stat st;

	/* a directory that cannot be looked at has no file to read either: the load says why */
	if (stat(dir, &st) != 0)
		return TRUE;
	if ((st.st_mode & S_IWOTH) != 0) {
		g_set_error(error,
			    MO_ERROR,
			    MO_ERROR_INVALID_DATA,
			    _("Refusing the token file %s: other users can write to its directory "
			      "%s (mode %04o); make the directory private with “chmod o-w %s” or "
			      "move the file to a directory of its own"),
			    path,
			    dir,
			    (guint)(st.st_mode & 07777),
			    dir);
		return FALSE;
	}

	/* success */
	return TRUE;
}

/* The refresh journal (mo-journal.h): beside the lock, where every process that refreshes the
 * file (root in postfix's pre-chroot, postfix in the chroot, the timer outside) finds it;
 * then on tmpfs, the runtime directory ($XDG_RUNTIME_DIR, or /run/mailoauth of the export's
 * timer), for when the token file's disk is full. */
static void
mo_file_store_set_journal_paths(MoFileStore *self)
{
	g_autofree gchar *hash = g_compute_checksum_for_string(G_CHECKSUM_SHA256, self->path, -1);
	g_autofree gchar *name = g_strdup_printf("file-%.32s.journal", hash);
	const gchar *runtime = g_getenv("XDG_RUNTIME_DIR");

	self->journal_paths[0] = mo_journal_path_for_lock(self->lock_path);
	if (runtime != NULL && g_path_is_absolute(runtime))
		self->journal_paths[1] = g_build_filename(runtime, "mailoauth", name, NULL);
	else if (g_file_test(MO_FILE_STORE_RUN_DIR, G_FILE_TEST_IS_DIR))
		self->journal_paths[1] = g_build_filename(MO_FILE_STORE_RUN_DIR, name, NULL);
	self->parent.journal_paths = (const gchar *const *)self->journal_paths;
}

/* Is @name a temporary file of ours for @base: ".BASE.XXXXXXXX.tmp" (mo_file_replace), or
 * that of the journal beside it? */
static gboolean
mo_file_store_is_temp(const gchar *name, const gchar *base)
{
	g_autofree gchar *file_prefix = g_strdup_printf(".%s.", base);
	g_autofree gchar *journal_prefix = g_strdup_printf("..%s.journal.", base);

	return g_str_has_suffix(name, ".tmp") &&
	       (g_str_has_prefix(name, file_prefix) || g_str_has_prefix(name, journal_prefix));
}

/* A temporary file is a complete copy once it parses (owner and mode are set before any data
 * is written): the answer of a refresh killed before its rename. Taken when newer than the
 * file, by the same rename. */
static gboolean
mo_file_store_adopt_temp(MoFileStore *self, const gchar *temp)
{
	g_autoptr(MoTokenFile) current = NULL;
	g_autoptr(MoTokenFile) candidate = NULL;
	mo_autosecret gchar *data = NULL;
	struct stat st;
	gsize len = 0;

	data = mo_file_read_secret(temp, MO_JSON_MAX_SIZE, &len, &st, NULL);
	if (data == NULL || st.st_nlink != 1)
		return FALSE;
	candidate = mo_token_file_parse(data, (gssize)len, temp, NULL);
	mo_secure_free(g_steal_pointer(&data));
	data = mo_file_read_secret(self->path, MO_JSON_MAX_SIZE, &len, &st, NULL);
	if (candidate == NULL || data == NULL)
		return FALSE;
	current = mo_token_file_parse(data, (gssize)len, self->path, NULL);
	if (current == NULL || candidate->token->expiry <= current->token->expiry)
		return FALSE;
	return rename(temp, self->path) == 0;
}

/* Under the lock: temporary files that a killed refresh left beside the token file hold the
 * client secret and maybe a refresh token that was never stored. The newest complete one
 * that is newer than the file replaces it; the rest are removed. */
static void
mo_file_store_tidy(MoTokenStore *store)
{
	MoFileStore *self = (MoFileStore *)store;
	g_autofree gchar *dir_path = g_path_get_dirname(self->path);
	g_autofree gchar *base = g_path_get_basename(self->path);
	g_autoptr(GDir) dir = g_dir_open(dir_path, 0, NULL);
	g_autoptr(GPtrArray) temps = g_ptr_array_new_with_free_func(g_free);
	const gchar *name;

	while (dir != NULL && (name = g_dir_read_name(dir)) != NULL) {
		if (mo_file_store_is_temp(name, base))
			g_ptr_array_add(temps, g_build_filename(dir_path, name, NULL));
	}
	for (guint i = 0; i < temps->len; i++) {
		const gchar *temp = g_ptr_array_index(temps, i);
		if (g_str_has_prefix(strrchr(temp, '/') + 1, "..") ||
		    !mo_file_store_adopt_temp(self, temp)) {
			if (g_unlink(temp) == 0)
				g_debug("removed the stale temporary file %s", temp);
		} else {
			g_debug("took back the refreshed token from %s", temp);
		}
	}
}

/* @path must be absolute: it comes from a password field, and a relative one would depend on
 * the working directory of whatever process loaded the plugin. */
MoTokenStore *
mo_file_store_new(const gchar *path, GError **error)
{
	MoFileStore *self;

	if (path == NULL || !g_path_is_absolute(path)) {
		g_set_error(error,
			    MO_ERROR,
			    MO_ERROR_INVALID_ARGUMENT,
			    _("A token file must be given by its absolute path"));
		return NULL;
	}
	if (!mo_file_store_check_dir(path, error))
		return NULL;
	self = g_new0(MoFileStore, 1);
	self->path = g_strdup(path);
	/* beside the file, for its owner and group (mo-lock.c) */
	self->lock_path = mo_lock_path_for_file(path);
	mo_file_store_set_journal_paths(self);
	self->parent.account = self->path;
	self->parent.lock_path = self->lock_path;
	self->parent.load = mo_file_store_load;
	self->parent.load_app = mo_file_store_load_app;
	self->parent.save = mo_file_store_save;
	self->parent.tidy = mo_file_store_tidy;
	self->parent.margin = mo_file_store_margin;
	self->parent.free = mo_file_store_free;
	return &self->parent;
}

const gchar *
mo_file_store_get_user(MoTokenStore *store)
{
	MoFileStore *self = (MoFileStore *)store;
	return self->file != NULL ? self->file->user : NULL;
}

static void
mo_file_store_free(MoTokenStore *store)
{
	MoFileStore *self = (MoFileStore *)store;

	if (self == NULL)
		return;
	g_free(self->path);
	g_free(self->lock_path);
	g_free(self->journal_paths[0]);
	g_free(self->journal_paths[1]);
	mo_token_file_free(self->file);
	g_free(self);
}
