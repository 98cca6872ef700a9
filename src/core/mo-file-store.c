/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <glib/gi18n-lib.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "mo-error.h"
#include "mo-file-store.h"
#include "mo-file.h"
#include "mo-json.h"
#include "mo-provider.h"
#include "mo-secure.h"

#define MO_SASL_XOAUTH2_CONFIG "/etc/sasl-xoauth2.conf"

/* A sasl-xoauth2 token file as a MoTokenStore: what the SASL plugin uses inside postfix, where
 * there is no keyring. Each load re-reads the file (another process may have refreshed it);
 * a save rewrites it atomically, keeping unknown keys, its mode and its owner. */
typedef struct {
	MoTokenStore parent;
	gchar *path;
	gchar *lock_path;
	MoTokenFile *file; /* as last loaded */
	struct stat st;	   /* of the file as last loaded */
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
MoJson *
mo_file_store_read_config(gchar **path)
{
	const gchar *override = secure_getenv("MAILOAUTH_SASL_XOAUTH2_CONF");
	mo_autosecret gchar *data = NULL;
	struct stat st;
	gsize len = 0;

	*path = g_strdup(override != NULL ? override : MO_SASL_XOAUTH2_CONFIG);
	data = mo_file_read_secret(*path, MO_JSON_MAX_SIZE, &len, &st, NULL);
	if (data == NULL)
		return NULL;
	return mo_json_parse_object(data, (gssize)len, *path, NULL);
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
	MoFileStore *self = (MoFileStore *)store;
	g_autoptr(MoApp) app = mo_app_new(self->path, MO_PROVIDER_CUSTOM);
	g_autoptr(MoJson) config = NULL;
	g_autofree gchar *config_path = NULL;

	/* also for the CA and proxy keys, which either may hold */
	config = mo_file_store_read_config(&config_path);
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

/* @path must be absolute: it comes from a password field, and a relative one would depend on
 * the working directory of whatever process loaded the plugin. */
MoTokenStore *
mo_file_store_new(const gchar *path, GError **error)
{
	MoFileStore *self;
	g_autofree gchar *dir = NULL;
	g_autofree gchar *base = NULL;
	g_autofree gchar *lock_name = NULL;

	if (path == NULL || !g_path_is_absolute(path)) {
		g_set_error(error,
			    MO_ERROR,
			    MO_ERROR_INVALID_ARGUMENT,
			    _("A token file must be given by its absolute path"));
		return NULL;
	}
	dir = g_path_get_dirname(path);
	base = g_path_get_basename(path);
	self = g_new0(MoFileStore, 1);
	self->path = g_strdup(path);
	/* beside the file, so that every process that can rewrite it can also lock it */
	lock_name = g_strdup_printf(".%s.lock", base);
	self->lock_path = g_build_filename(dir, lock_name, NULL);
	self->parent.account = self->path;
	self->parent.lock_path = self->lock_path;
	self->parent.load = mo_file_store_load;
	self->parent.load_app = mo_file_store_load_app;
	self->parent.save = mo_file_store_save;
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
	mo_token_file_free(self->file);
	g_free(self);
}
