/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <glib/gi18n.h>
#include <stdio.h>
#include <string.h>

#include "mo-authorize.h"
#include "mo-cli.h"

#define MO_AUTHORIZE_DEFAULT_TIMEOUT 300

typedef struct {
	gchar *app;
	gchar *flow;
	gchar *purpose;
	gchar *scope;
	gchar *login_hint;
	gchar *user;
	gint port;
	gint timeout;
	gboolean no_browser;
	MoAppOptions app_opts;
} MoAuthorizeOptions;

static MoSignInOptions
mo_authorize_sign_in_options(const MoAuthorizeOptions *opts)
{
	MoSignInOptions signin = {
		.flow = opts->flow,
		.login_hint = opts->login_hint,
		.port = opts->port,
		.timeout = opts->timeout,
		.no_browser = opts->no_browser,
	};
	return signin;
}

/* The app: one-off from the options, named with --app, or the one the account already has. */
static MoApp *
mo_authorize_get_app(MoCli *cli,
		     MoKeyring *keyring,
		     const gchar *account,
		     MoAuthorizeOptions *opts,
		     gboolean *is_new,
		     GError **error)
{
	g_autoptr(MoAccount) existing = NULL;
	g_autoptr(GError) error_local = NULL;

	*is_new = mo_cli_app_options_given(&opts->app_opts);
	if (*is_new)
		return mo_cli_app_build(cli,
					opts->app != NULL ? opts->app : account,
					&opts->app_opts,
					error);
	if (opts->app != NULL)
		return mo_keyring_load_app(keyring, opts->app, error);
	existing = mo_keyring_load_account(keyring, account, &error_local);
	if (existing != NULL && existing->app != NULL)
		return mo_keyring_load_app(keyring, existing->app, error);
	if (error_local != NULL && !g_error_matches(error_local, MO_ERROR, MO_ERROR_NOT_FOUND)) {
		g_propagate_error(error, g_steal_pointer(&error_local));
		return NULL;
	}
	g_set_error(error,
		    G_OPTION_ERROR,
		    G_OPTION_ERROR_BAD_VALUE,
		    _("Say which app to sign in with: --app APP (see “mailoauth app list”), or "
		      "--provider … --client-id … for a one-off app"));
	return NULL;
}

/* The scopes of the account's current grant, for a custom provider whose mail scope only
 * the user knows: signing in again must not drop a --scope given the first time. (Microsoft's
 * and Google's presets are complete; what they grant back lacks offline_access, which must
 * not be lost either.) */
static gchar *
mo_authorize_previous_scope(MoKeyring *keyring, const gchar *account, const MoApp *app)
{
	g_autoptr(MoAccount) existing = NULL;
	g_auto(GStrv) scopes = NULL;

	if (app->provider != MO_PROVIDER_CUSTOM)
		return NULL;
	existing = mo_keyring_load_account(keyring, account, NULL);
	if (existing == NULL || g_strcmp0(existing->app, app->name) != 0 ||
	    existing->token->scope == NULL)
		return NULL;
	scopes = g_strsplit(existing->token->scope, " ", -1);
	if (g_strv_contains((const gchar *const *)scopes, "offline_access"))
		return g_strdup(existing->token->scope);
	return g_strdup_printf("%s offline_access", existing->token->scope);
}

static gchar *
mo_authorize_scope(MoKeyring *keyring,
		   const gchar *account,
		   const MoApp *app,
		   const MoAuthorizeOptions *opts,
		   GError **error)
{
	MoPurpose purpose = MO_PURPOSE_ALL;
	gchar *previous;

	if (opts->scope != NULL)
		return g_strdup(opts->scope);
	if (opts->purpose == NULL) {
		previous = mo_authorize_previous_scope(keyring, account, app);
		if (previous != NULL)
			return previous;
	}
	if (g_strcmp0(opts->purpose, "imap") == 0)
		purpose = MO_PURPOSE_IMAP;
	else if (g_strcmp0(opts->purpose, "smtp") == 0)
		purpose = MO_PURPOSE_SMTP;
	else if (g_strcmp0(opts->purpose, "pop") == 0)
		purpose = MO_PURPOSE_POP;
	else if (opts->purpose != NULL && g_strcmp0(opts->purpose, "all") != 0) {
		g_set_error(error,
			    G_OPTION_ERROR,
			    G_OPTION_ERROR_BAD_VALUE,
			    _("--purpose must be imap, smtp, pop or all"));
		return NULL;
	}
	return mo_provider_get_scopes(app->provider, purpose);
}

/* The app first (the account refers to it), then the account, replacing any old token only
 * now that the new one is here. */
static gboolean
mo_authorize_store(MoKeyring *keyring,
		   const gchar *name,
		   const MoApp *app,
		   gboolean app_is_new,
		   const MoToken *token,
		   const gchar *scope,
		   const gchar *user,
		   GError **error)
{
	g_autoptr(MoAccount) account = mo_account_new(name);

	if (app_is_new && !mo_keyring_save_app(keyring, app, error))
		return FALSE;
	account->user = g_strdup(user != NULL ? user : name);
	account->app = g_strdup(app->name);
	mo_token_free(account->token);
	account->token = mo_token_copy(token);
	account->token->last_refresh = 0;
	if (account->token->scope == NULL)
		account->token->scope = g_strdup(scope);
	return mo_keyring_save_account(keyring, account, error);
}

static int
mo_authorize_main(MoCli *cli, const gchar *account, MoAuthorizeOptions *opts)
{
	g_autoptr(MoApp) app = NULL;
	g_autoptr(MoToken) token = NULL;
	g_autoptr(MoLock) lock = NULL;
	g_autofree gchar *scope = NULL;
	g_autofree gchar *until = NULL;
	g_autofree gchar *shown_app = NULL;
	gboolean app_is_new = FALSE;
	MoSignInOptions signin = mo_authorize_sign_in_options(opts);
	MoKeyring *keyring;
	GError *error = NULL;

	if (!mo_account_name_is_valid(account, &error) ||
	    (opts->app != NULL && !mo_account_name_is_valid(opts->app, &error)) ||
	    (keyring = mo_cli_get_keyring(cli, &error)) == NULL ||
	    (app = mo_authorize_get_app(cli, keyring, account, opts, &app_is_new, &error)) ==
		    NULL ||
	    (scope = mo_authorize_scope(keyring, account, app, opts, &error)) == NULL)
		return mo_cli_fail(cli, NULL, error);
	token = mo_cli_sign_in(cli, account, app, scope, &signin, &error);
	if (token == NULL || (lock = mo_cli_lock_account(cli, account, &error)) == NULL ||
	    !mo_authorize_store(keyring,
				account,
				app,
				app_is_new,
				token,
				scope,
				opts->user,
				&error))
		return mo_cli_fail(cli, NULL, error);
	until = mo_cli_format_expiry(token->expiry, g_get_real_time() / G_USEC_PER_SEC);
	/* without --app, the app's name comes from the account's keyring item */
	shown_app = mo_text_escape(app->name);
	g_printerr(_("Signed in: %s (app %s); access token %s.\n"), account, shown_app, until);
	if (token->refresh_token == NULL)
		g_printerr(_("Warning: the provider sent no refresh token, so the token cannot be "
			     "renewed; check that the scope includes offline_access (Microsoft, "
			     "OpenID) or authorize again.\n"));
	g_printerr(_("In ~/.mbsyncrc: PassCmd \"mailoauth token %s\"\n"), account);
	return MO_EXIT_OK;
}

int
mo_cmd_authorize(MoCli *cli, int argc, char **argv)
{
	MoAuthorizeOptions opts = {.timeout = MO_AUTHORIZE_DEFAULT_TIMEOUT};
	const GOptionEntry entries[] = {
		{"app",
		 'a',
		 0,
		 G_OPTION_ARG_STRING,
		 &opts.app,
		 N_("The app to sign in with"),
		 N_("APP")},
		{"flow",
		 0,
		 0,
		 G_OPTION_ARG_STRING,
		 &opts.flow,
		 N_("device, browser or paste (default: device for Microsoft, browser for Google)"),
		 N_("FLOW")},
		{"purpose",
		 0,
		 0,
		 G_OPTION_ARG_STRING,
		 &opts.purpose,
		 N_("imap, smtp, pop or all (default): which scopes to ask for"),
		 N_("PURPOSE")},
		{"scope",
		 0,
		 0,
		 G_OPTION_ARG_STRING,
		 &opts.scope,
		 N_("Exact scopes to ask for"),
		 N_("SCOPES")},
		{"login-hint",
		 0,
		 0,
		 G_OPTION_ARG_STRING,
		 &opts.login_hint,
		 N_("Suggest this address on the sign-in page"),
		 N_("ADDRESS")},
		{"user",
		 'u',
		 0,
		 G_OPTION_ARG_STRING,
		 &opts.user,
		 N_("SASL login name (default: the account name)"),
		 N_("USER")},
		{"port",
		 0,
		 0,
		 G_OPTION_ARG_INT,
		 &opts.port,
		 N_("Port of the browser flow's listener on 127.0.0.1 (default: any free one)"),
		 N_("PORT")},
		{"timeout",
		 0,
		 0,
		 G_OPTION_ARG_INT,
		 &opts.timeout,
		 N_("Seconds to wait for the browser (default 300)"),
		 N_("SECONDS")},
		{"no-browser",
		 0,
		 0,
		 G_OPTION_ARG_NONE,
		 &opts.no_browser,
		 N_("Print the address but do not open a browser"),
		 NULL},
		{NULL},
	};
	GOptionEntry app_entries[MO_APP_OPTION_ENTRIES + 1];
	GError *error = NULL;
	int rc;

	mo_cli_app_option_entries(&opts.app_opts, app_entries);
	if (!mo_cli_parse_with(
		    cli,
		    "ACCOUNT",
		    _("Signs in to the provider and stores the account's first token (with "
		      "its app) in the keyring. Re-authorizing replaces the token only once "
		      "the new one has arrived."),
		    entries,
		    app_entries,
		    &argc,
		    &argv,
		    1,
		    1,
		    &error))
		return mo_cli_fail(cli, NULL, error);
	if (opts.port < 0 || opts.port > 65535 || opts.timeout <= 0) {
		g_printerr(
			_("mailoauth authorize: --port must be 0–65535 and --timeout positive\n"));
		return MO_EXIT_USAGE;
	}
	rc = mo_authorize_main(cli, argv[1], &opts);
	g_free(opts.app);
	g_free(opts.flow);
	g_free(opts.purpose);
	g_free(opts.scope);
	g_free(opts.login_hint);
	g_free(opts.user);
	mo_cli_app_options_clear(&opts.app_opts);
	return rc;
}
