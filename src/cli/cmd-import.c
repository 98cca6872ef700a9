/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gi18n.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mo-cli.h"
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
mo_import_report(const MoAccount *account, const gchar *path)
{
	g_autofree gchar *until =
		mo_cli_format_time(account->token->expiry, g_get_real_time() / G_USEC_PER_SEC);
	/* the names were checked; the path is the user's, but may hold anything */
	g_autofree gchar *shown_path = mo_text_escape(path);

	g_printerr(_("Imported %s (app %s); access token valid until %s.\n"),
		   account->name,
		   account->app,
		   until);
	g_printerr(_("In ~/.mbsyncrc: PassCmd \"mailoauth token %s\"\n"), account->name);
	g_printerr(_("%s still holds the tokens in plain text; delete it once you no longer "
		     "need it.\n"),
		   shown_path);
}

static int
mo_import_run(MoCli *cli, const gchar *path, const gchar *account_opt, const gchar *app_opt)
{
	g_autoptr(MoTokenFile) file = NULL;
	g_autoptr(MoAccount) account = NULL;
	g_autoptr(MoLock) lock = NULL;
	g_autofree gchar *name = NULL;
	mo_autosecret gchar *data = NULL;
	MoKeyring *keyring;
	GError *error = NULL;
	struct stat st;
	gsize len = 0;

	/* the names given first: a usage error is one whatever the file holds */
	if ((account_opt != NULL && !mo_account_name_is_valid(account_opt, &error)) ||
	    (app_opt != NULL && !mo_account_name_is_valid(app_opt, &error)))
		return mo_cli_fail(cli, NULL, error);
	data = mo_file_read_secret(path, MO_JSON_MAX_SIZE, &len, &st, &error);
	if (data == NULL)
		return mo_cli_fail(cli, NULL, error);
	file = mo_token_file_parse(data, len, path, &error);
	if (file == NULL)
		return mo_cli_fail(cli, NULL, error);
	name = account_opt != NULL ? g_strdup(account_opt) : mo_import_default_account(path, file);
	if (!mo_account_name_is_valid(name, &error)) {
		if (account_opt == NULL)
			g_prefix_error(&error, _("Name the account with --account NAME: "));
		return mo_cli_fail(cli, NULL, error);
	}
	keyring = mo_cli_get_keyring(cli, &error);
	if (keyring == NULL ||
	    !mo_import_app(keyring,
			   file,
			   file->client_id != NULL && app_opt == NULL ? name : app_opt,
			   path,
			   &error))
		return mo_cli_fail(cli, name, error);

	account = mo_account_new(name);
	account->user = g_strdup(file->user != NULL ? file->user : name);
	account->app = g_strdup(app_opt != NULL ? app_opt : name);
	mo_token_free(account->token);
	account->token = mo_token_copy(file->token);
	lock = mo_cli_lock_account(cli, name, &error);
	if (lock == NULL || !mo_keyring_save_account(keyring, account, &error))
		return mo_cli_fail(cli, name, error);

	mo_import_report(account, path);
	return MO_EXIT_OK;
}

int
mo_cmd_import(MoCli *cli, int argc, char **argv)
{
	g_autofree gchar *account = NULL;
	g_autofree gchar *app = NULL;
	const GOptionEntry entries[] = {
		{"account",
		 'a',
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
		{NULL},
	};
	GError *error = NULL;

	if (!mo_cli_parse(cli,
			  "FILE",
			  _("Moves the tokens of a sasl-xoauth2 token file into the keyring. "
			    "The file's client_id, client_secret and token_endpoint become an "
			    "app; without them, name an existing app with --app."),
			  entries,
			  &argc,
			  &argv,
			  1,
			  1,
			  &error))
		return mo_cli_fail(cli, NULL, error);
	return mo_import_run(cli, argv[1], account, app);
}
