/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gi18n.h>
#include <glib/gstdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mo-cli.h"
#include "mo-file-store.h"
#include "mo-file.h"
#include "mo-json.h"
#include "mo-secure.h"

/* sasl-xoauth2's guide names files token.ADDRESS */
static gchar *
mo_import_default_account(const gchar *path, const MoTokenFile *file)
{
	g_autofree gchar *base = NULL;

	if (file->user != NULL)
		return g_strdup(file->user);
	base = g_path_get_basename(path);
	if (g_str_has_prefix(base, "token.") && base[6] != '\0')
		return g_strdup(base + 6);
	return g_steal_pointer(&base);
}

/* The app the token belongs to: from the file's client fields, or an existing one. */
static gboolean
mo_import_app(MoKeyring *keyring,
	      MoTokenFile *file,
	      const gchar *app_name,
	      const gchar *path,
	      GError **error)
{
	g_autoptr(MoApp) app = NULL;
	g_autoptr(GError) error_local = NULL;

	if (file->client_id == NULL) {
		g_autoptr(MoApp) existing = NULL;
		/* without a client in the file, an app of the account's name is no guess to make
		 * silently: it may belong to another provider */
		if (app_name == NULL) {
			g_set_error(error,
				    MO_ERROR,
				    MO_ERROR_INVALID_ARGUMENT,
				    _("The token file %s names no client_id; give the app it "
				      "belongs to with --app APP (register it first with "
				      "“mailoauth app add”)"),
				    path);
			return FALSE;
		}
		existing = mo_keyring_load_app(keyring, app_name, error);
		return existing != NULL;
	}
	/* an app registered already stays as it is (it may have a tenant, endpoints, other
	 * accounts): the file's client must be the same one */
	app = mo_keyring_load_app(keyring, app_name, &error_local);
	if (app != NULL) {
		if (g_strcmp0(app->client_id, file->client_id) == 0)
			return TRUE;
		g_set_error(error,
			    MO_ERROR,
			    MO_ERROR_INVALID_ARGUMENT,
			    _("App %s has client ID %s, but the token file %s was issued to %s; "
			      "name another app with --app"),
			    app_name,
			    app->client_id,
			    path,
			    file->client_id);
		return FALSE;
	}
	if (!g_error_matches(error_local, MO_ERROR, MO_ERROR_NOT_FOUND)) {
		g_propagate_error(error, g_steal_pointer(&error_local));
		return FALSE;
	}
	app = mo_app_new(app_name, MO_PROVIDER_CUSTOM);
	app->client_id = g_strdup(file->client_id);
	app->client_secret = g_strdup(file->client_secret);
	app->token_endpoint =
		g_strdup(file->token_endpoint != NULL ? file->token_endpoint
						      : MO_SASL_XOAUTH2_DEFAULT_TOKEN_ENDPOINT);
	if (!mo_app_validate(app, error))
		return FALSE;
	return mo_keyring_save_app(keyring, app, error);
}

static void
mo_import_report(const MoAccount *account, const gchar *path, gboolean removed)
{
	g_autofree gchar *until =
		mo_cli_format_expiry(account->token->expiry, g_get_real_time() / G_USEC_PER_SEC);
	/* the names were checked; the path is the user's, but may hold anything */
	g_autofree gchar *shown_path = mo_text_escape(path);

	g_printerr(_("Imported %s (app %s); access token %s.\n"),
		   account->name,
		   account->app,
		   until);
	g_printerr(_("In ~/.mbsyncrc: PassCmd \"mailoauth token %s\"\n"), account->name);
	if (removed)
		g_printerr(_("Checked in the keyring; %s is removed.\n"), shown_path);
	else
		g_printerr(_("%s still holds the tokens in plain text; delete it once you no "
			     "longer need it (or import again with --remove).\n"),
			   shown_path);
}

/* The name of the app made from sasl-xoauth2's configuration, which names no app. */
#define MO_IMPORT_CONF_APP "sasl-xoauth2"

/* sasl-xoauth2 takes what a token file lacks from its configuration: so does import. Returns
 * whether the client came from there (then the app is named after it). */
static gboolean
mo_import_fill_from_conf(MoTokenFile *file, gboolean *client_from_conf, GError **error)
{
	g_autofree gchar *conf_path = NULL;
	g_autoptr(GError) error_local = NULL;
	g_autoptr(MoJson) conf = mo_file_store_read_config(&conf_path, &error_local);
	gchar **fields[] = {&file->client_id, &file->client_secret, &file->token_endpoint};
	const gchar *keys[] = {"client_id", "client_secret", "token_endpoint"};

	*client_from_conf = FALSE;
	if (error_local != NULL) {
		g_propagate_error(error, g_steal_pointer(&error_local));
		return FALSE;
	}
	if (conf == NULL)
		return TRUE;
	*client_from_conf = file->client_id == NULL;
	for (guint i = 0; i < G_N_ELEMENTS(keys); i++) {
		if (*fields[i] == NULL &&
		    !mo_json_get_string(conf, keys[i], fields[i], conf_path, error))
			return FALSE;
	}
	*client_from_conf = *client_from_conf && file->client_id != NULL;
	return TRUE;
}

/* After the store: what the keyring now holds must be what the file held, before the file
 * may go. */
static gboolean
mo_import_verify(MoKeyring *keyring, const MoAccount *account, GError **error)
{
	g_autoptr(MoAccount) stored = mo_keyring_load_account(keyring, account->name, error);

	if (stored == NULL)
		return FALSE;
	if (g_strcmp0(stored->token->refresh_token, account->token->refresh_token) != 0 ||
	    g_strcmp0(stored->token->access_token, account->token->access_token) != 0) {
		g_set_error(error,
			    MO_ERROR,
			    MO_ERROR_FAILED,
			    _("The keyring does not hold what was stored for %s"),
			    account->name);
		return FALSE;
	}
	return TRUE;
}

static MoTokenFile *
mo_import_read(const gchar *path, gboolean *client_from_conf, GError **error)
{
	g_autoptr(MoTokenFile) file = NULL;
	mo_autosecret gchar *data = NULL;
	struct stat st;
	gsize len = 0;

	data = mo_file_read_secret(path, MO_JSON_MAX_SIZE, &len, &st, error);
	if (data == NULL)
		return NULL;
	file = mo_token_file_parse(data, (gssize)len, path, error);
	if (file == NULL || !mo_import_fill_from_conf(file, client_from_conf, error))
		return NULL;
	return g_steal_pointer(&file);
}

/* One file into the keyring, checked by reading it back; with @remove the file goes after
 * that. */
static gboolean
mo_import_one(MoCli *cli,
	      const gchar *path,
	      const gchar *account_opt,
	      const gchar *app_opt,
	      gboolean remove,
	      GError **error)
{
	g_autoptr(MoTokenFile) file = NULL;
	g_autoptr(MoAccount) account = NULL;
	g_autoptr(MoLock) lock = NULL;
	g_autofree gchar *name = NULL;
	const gchar *app_name;
	gboolean client_from_conf = FALSE;
	MoKeyring *keyring;

	file = mo_import_read(path, &client_from_conf, error);
	if (file == NULL)
		return FALSE;
	name = account_opt != NULL ? g_strdup(account_opt) : mo_import_default_account(path, file);
	if (!mo_account_name_is_valid(name, error)) {
		if (account_opt == NULL)
			g_prefix_error(error, _("Name the account with --account NAME: "));
		return FALSE;
	}
	app_name = app_opt != NULL	     ? app_opt
		   : client_from_conf	     ? MO_IMPORT_CONF_APP
		   : file->client_id != NULL ? name
					     : NULL;
	keyring = mo_cli_get_keyring(cli, error);
	if (keyring == NULL || !mo_import_app(keyring, file, app_name, path, error))
		return FALSE;
	account = mo_account_new(name);
	account->user = g_strdup(file->user != NULL ? file->user : name);
	account->app = g_strdup(app_name);
	mo_token_free(account->token);
	account->token = mo_token_copy(file->token);
	lock = mo_cli_lock_account(cli, name, error);
	if (lock == NULL || !mo_keyring_save_account(keyring, account, error) ||
	    !mo_import_verify(keyring, account, error))
		return FALSE;
	mo_import_report(account, path, remove);
	if (remove && g_unlink(path) != 0) {
		int errsv = errno;
		g_set_error(error,
			    MO_ERROR,
			    MO_ERROR_FAILED,
			    _("%s was imported, but cannot be removed: %s"),
			    path,
			    g_strerror(errsv));
		return FALSE;
	}
	return TRUE;
}

/* A directory of token files (~/.tokens, /etc/sasl-tokens): each regular file that is not
 * a lock, journal or temporary file of ours; each reported on its own. */
static int
mo_import_dir(MoCli *cli, const gchar *dir_path, const gchar *app_opt, gboolean remove)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GDir) dir = g_dir_open(dir_path, 0, &error);
	g_autoptr(GPtrArray) paths = g_ptr_array_new_with_free_func(g_free);
	const gchar *entry;
	guint failed = 0;

	if (dir == NULL)
		return mo_cli_fail(cli, NULL, g_steal_pointer(&error));
	while ((entry = g_dir_read_name(dir)) != NULL) {
		g_autofree gchar *path = g_build_filename(dir_path, entry, NULL);
		if (entry[0] != '.' && g_file_test(path, G_FILE_TEST_IS_REGULAR))
			g_ptr_array_add(paths, g_steal_pointer(&path));
	}
	g_ptr_array_sort(paths, mo_cli_compare_paths);
	for (guint i = 0; i < paths->len; i++) {
		g_autoptr(GError) error_local = NULL;
		const gchar *path = g_ptr_array_index(paths, i);
		if (!mo_import_one(cli, path, NULL, app_opt, remove, &error_local)) {
			g_autofree gchar *shown = mo_text_escape(error_local->message);
			g_printerr(_("mailoauth import: %s\n"), shown);
			failed++;
		}
	}
	g_printerr(_("%u of %u token files imported.\n"), paths->len - failed, paths->len);
	return failed > 0 ? MO_EXIT_FAILURE : MO_EXIT_OK;
}

static int
mo_import_run(MoCli *cli,
	      const gchar *path,
	      const gchar *account_opt,
	      const gchar *app_opt,
	      gboolean remove)
{
	GError *error = NULL;

	/* the names given first: a usage error is one whatever the file holds */
	if ((account_opt != NULL && !mo_account_name_is_valid(account_opt, &error)) ||
	    (app_opt != NULL && !mo_account_name_is_valid(app_opt, &error)))
		return mo_cli_fail(cli, NULL, error);
	if (g_file_test(path, G_FILE_TEST_IS_DIR)) {
		if (account_opt != NULL) {
			g_printerr(_("mailoauth import: --account names one account; a directory "
				     "holds one per file\n"));
			return MO_EXIT_USAGE;
		}
		return mo_import_dir(cli, path, app_opt, remove);
	}
	if (!mo_import_one(cli, path, account_opt, app_opt, remove, &error))
		return mo_cli_fail(cli, account_opt, error);
	return MO_EXIT_OK;
}

int
mo_cmd_import(MoCli *cli, int argc, char **argv)
{
	g_autofree gchar *account = NULL;
	g_autofree gchar *app = NULL;
	gboolean remove = FALSE;
	const GOptionEntry entries[] = {
		{"account",
		 0,
		 0,
		 G_OPTION_ARG_STRING,
		 &account,
		 N_("Account name (default: the file's user, or its name without “token.”)"),
		 N_("NAME")},
		{"app",
		 0,
		 0,
		 G_OPTION_ARG_STRING,
		 &app,
		 N_("App to refresh with (default: one made from the file's client_id, named after "
		    "the account)"),
		 N_("APP")},
		{"remove",
		 0,
		 0,
		 G_OPTION_ARG_NONE,
		 &remove,
		 N_("Remove each file once the keyring holds its tokens (checked by reading them "
		    "back)"),
		 NULL},
		{NULL},
	};
	GError *error = NULL;

	if (!mo_cli_parse(cli,
			  "FILE|DIRECTORY",
			  _("Moves the tokens of a sasl-xoauth2 token file, or of every file in a "
			    "directory, into the keyring. The file's client_id, client_secret and "
			    "token_endpoint (else those of /etc/sasl-xoauth2.conf) become an app; "
			    "without them, name an existing app with --app."),
			  entries,
			  &argc,
			  &argv,
			  1,
			  1,
			  &error))
		return mo_cli_fail(cli, NULL, error);
	return mo_import_run(cli, argv[1], account, app, remove);
}
