/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <gio/gio.h>
#include <glib/gi18n.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "mo-cli.h"
#include "mo-export-layout.h"
#include "mo-export-status.h"
#include "mo-file-store.h"
#include "mo-secure.h"

/* "mailoauth export": a token file for postfix, which runs as a system service and cannot
 * reach the user's keyring. The file is written by mailoauth-export-helper as root (through
 * pkexec, or directly when we are root); this side signs in, builds the sasl-xoauth2 token
 * file and tells the user what to add to postfix's configuration. */

#define MO_EXPORT_HELPER_NAME  "mailoauth-export-helper"
#define MO_EXPORT_HELPER_ENV   "MAILOAUTH_EXPORT_HELPER"
#define MO_EXPORT_CONF_ENV     "MAILOAUTH_EXPORT_CONF"
#define MO_EXPORT_DEFAULT_PORT 587
#define MO_EXPORT_TIMEOUT      300
/* what pkexec returns when the user dismissed the dialog, or when it could not authorize */
#define MO_PKEXEC_EXIT_DISMISSED 126
#define MO_PKEXEC_EXIT_REFUSED	 127

typedef struct {
	gboolean copy;
	gboolean remove;
	gboolean list;
	gboolean json;
	gboolean apply;
	gchar *app;
	gchar *user;
	gchar *relay;
	gchar *scope;
	gchar *via;
	gchar *flow;
	gchar *login_hint;
	gint port;
	gint timeout;
	gboolean no_browser;
	MoAppOptions app_opts;
} MoExportOptions;

/* Where the helper wrote the file, from its "key=value" lines. */
typedef struct {
	gchar *file; /* on disk */
	gchar *path; /* as postfix names it */
	gboolean chrooted;
} MoExportResult;

static void
mo_export_result_clear(MoExportResult *result)
{
	g_free(result->file);
	g_free(result->path);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(MoExportResult, mo_export_result_clear)

static const gchar *
mo_export_helper_path(void)
{
	const gchar *override = g_getenv(MO_EXPORT_HELPER_ENV);
	return override != NULL ? override : MO_LIBEXECDIR "/" MO_EXPORT_HELPER_NAME;
}

static const gchar *
mo_export_conf_path(void)
{
	const gchar *override = g_getenv(MO_EXPORT_CONF_ENV);
	return override != NULL ? override : mo_export_layout_default_conf();
}

/* direct (we are root), pkexec (the default otherwise) or sudo. */
static gboolean
mo_export_pick_via(const gchar *via, const gchar **out, GError **error)
{
	if (via == NULL) {
		*out = geteuid() == 0 ? "direct" : "pkexec";
		return TRUE;
	}
	if (g_strcmp0(via, "direct") != 0 && g_strcmp0(via, "pkexec") != 0 &&
	    g_strcmp0(via, "sudo") != 0) {
		g_set_error(error,
			    G_OPTION_ERROR,
			    G_OPTION_ERROR_BAD_VALUE,
			    _("--via must be pkexec, sudo or direct"));
		return FALSE;
	}
	*out = via;
	return TRUE;
}

static GPtrArray *
mo_export_helper_argv(const gchar *via, const gchar *const *args, GError **error)
{
	g_autoptr(GPtrArray) argv = g_ptr_array_new_with_free_func(g_free);
	g_autofree gchar *runner = NULL;

	if (g_strcmp0(via, "direct") != 0) {
		runner = g_find_program_in_path(via);
		if (runner == NULL) {
			g_set_error_literal(
				error,
				MO_ERROR,
				MO_ERROR_FAILED,
				g_strcmp0(via, "pkexec") == 0
					? _("pkexec is not installed (Debian package pkexec), "
					    "so the export helper cannot run as root; use "
					    "--via sudo, or run this command as root")
					: _("sudo is not installed; use --via pkexec, or run "
					    "this command as root"));
			return NULL;
		}
		g_ptr_array_add(argv, g_steal_pointer(&runner));
	}
	g_ptr_array_add(argv, g_strdup(mo_export_helper_path()));
	for (guint i = 0; args[i] != NULL; i++)
		g_ptr_array_add(argv, g_strdup(args[i]));
	g_ptr_array_add(argv, NULL);
	return g_steal_pointer(&argv);
}

static gboolean
mo_export_check_helper_status(GSubprocess *proc, const gchar *via, GError **error)
{
	gint status;

	if (!g_subprocess_get_if_exited(proc)) {
		g_set_error(error, MO_ERROR, MO_ERROR_FAILED, _("The export helper was killed"));
		return FALSE;
	}
	status = g_subprocess_get_exit_status(proc);
	if (status == MO_EXPORT_HELPER_EXIT_OK)
		return TRUE;
	if (g_strcmp0(via, "pkexec") == 0 && status == MO_PKEXEC_EXIT_DISMISSED) {
		g_set_error(error,
			    MO_ERROR,
			    MO_ERROR_CANCELLED,
			    _("The administrator authentication was dismissed; nothing was "
			      "exported"));
		return FALSE;
	}
	if (g_strcmp0(via, "pkexec") == 0 && status == MO_PKEXEC_EXIT_REFUSED) {
		g_set_error(error,
			    MO_ERROR,
			    MO_ERROR_FAILED,
			    _("pkexec could not run the export helper as root (not authorized, "
			      "or no polkit authentication agent); run with --via sudo, or as "
			      "root"));
		return FALSE;
	}
	g_set_error(error,
		    MO_ERROR,
		    status == MO_EXPORT_HELPER_EXIT_NO_EXPORT ? MO_ERROR_NOT_FOUND
							      : MO_ERROR_FAILED,
		    _("%s failed (exit status %d; its message is above)"),
		    mo_export_helper_path(),
		    status);
	return FALSE;
}

/* Runs the helper with @input (a secret) on its stdin; its stderr goes to ours, so that
 * its message reaches the user as it is. */
static gchar *
mo_export_run_helper(const gchar *via,
		     const gchar *const *args,
		     const gchar *input,
		     gsize input_len,
		     GError **error)
{
	g_autoptr(GPtrArray) argv = mo_export_helper_argv(via, args, error);
	g_autoptr(GSubprocess) proc = NULL;
	g_autoptr(GBytes) in = NULL;
	g_autoptr(GBytes) out = NULL;

	if (argv == NULL)
		return NULL;
	proc = g_subprocess_newv((const gchar *const *)argv->pdata,
				 G_SUBPROCESS_FLAGS_STDIN_PIPE | G_SUBPROCESS_FLAGS_STDOUT_PIPE,
				 error);
	if (proc == NULL)
		return NULL;
	in = g_bytes_new_static(input != NULL ? input : "", input != NULL ? input_len : 0);
	if (!g_subprocess_communicate(proc, in, NULL, &out, NULL, error))
		return NULL;
	if (!mo_export_check_helper_status(proc, via, error))
		return NULL;
	/* an empty output has no data pointer at all */
	if (g_bytes_get_size(out) == 0)
		return g_strdup("");
	return g_strndup(g_bytes_get_data(out, NULL), g_bytes_get_size(out));
}

static gboolean
mo_export_parse_result(const gchar *out, MoExportResult *result, GError **error)
{
	g_auto(GStrv) lines = g_strsplit(out, "\n", -1);

	for (guint i = 0; lines[i] != NULL; i++) {
		if (g_str_has_prefix(lines[i], "file="))
			result->file = g_strdup(lines[i] + strlen("file="));
		else if (g_str_has_prefix(lines[i], "path="))
			result->path = g_strdup(lines[i] + strlen("path="));
		else if (g_str_has_prefix(lines[i], "chroot="))
			result->chrooted = g_strcmp0(lines[i] + strlen("chroot="), "yes") == 0;
	}
	if (result->file == NULL || result->path == NULL) {
		g_set_error(error,
			    MO_ERROR,
			    MO_ERROR_PROTOCOL,
			    _("%s did not say where it wrote the file"),
			    mo_export_helper_path());
		return FALSE;
	}
	return TRUE;
}

/* sasl-xoauth2's configuration names no provider; its token endpoint tells Microsoft and
 * Google apart, which is all a sign-in needs besides the client. */
static gboolean
mo_export_infer_provider(MoApp *app, GError **error)
{
	const gchar *ms = "https://login.microsoftonline.com/";

	if (g_str_has_prefix(app->token_endpoint, ms)) {
		const gchar *tenant = app->token_endpoint + strlen(ms);
		app->provider = MO_PROVIDER_MICROSOFT;
		app->tenant = g_strndup(tenant, strcspn(tenant, "/"));
		return TRUE;
	}
	if (g_str_has_prefix(app->token_endpoint, "https://oauth2.googleapis.com/") ||
	    g_str_has_prefix(app->token_endpoint, "https://accounts.google.com/")) {
		app->provider = MO_PROVIDER_GOOGLE;
		return TRUE;
	}
	g_set_error(error,
		    G_OPTION_ERROR,
		    G_OPTION_ERROR_BAD_VALUE,
		    _("The token endpoint %s is neither Microsoft's nor Google's, so the sign-in "
		      "endpoints are unknown; give the app with --app APP, or --provider custom "
		      "--issuer URL --client-id ID"),
		    app->token_endpoint);
	return FALSE;
}

/* No keyring (a server, root over SSH): the client of /etc/sasl-xoauth2.conf. */
static MoApp *
mo_export_app_from_conf(const gchar *account, GError **error)
{
	g_autofree gchar *path = NULL;
	g_autoptr(GError) error_local = NULL;
	g_autoptr(MoJson) conf = mo_file_store_read_config(&path, &error_local);
	g_autoptr(MoApp) app = mo_app_new(account, MO_PROVIDER_CUSTOM);

	if (error_local != NULL) {
		g_propagate_error(error, g_steal_pointer(&error_local));
		return NULL;
	}
	if (conf == NULL) {
		g_set_error(error,
			    G_OPTION_ERROR,
			    G_OPTION_ERROR_BAD_VALUE,
			    _("Say which app to sign in with: --app APP (see “mailoauth app "
			      "list”), or --provider … --client-id …; %s is not there either"),
			    path);
		return NULL;
	}
	if (!mo_json_get_string(conf, "client_id", &app->client_id, path, error) ||
	    !mo_json_get_string(conf, "client_secret", &app->client_secret, path, error) ||
	    !mo_json_get_string(conf, "token_endpoint", &app->token_endpoint, path, error))
		return NULL;
	if (app->client_id == NULL) {
		g_set_error(error, MO_ERROR, MO_ERROR_INVALID_DATA, _("%s has no client_id"), path);
		return NULL;
	}
	if (app->token_endpoint == NULL)
		app->token_endpoint = g_strdup(MO_SASL_XOAUTH2_DEFAULT_TOKEN_ENDPOINT);
	if (!mo_export_infer_provider(app, error))
		return NULL;
	g_clear_pointer(&app->token_endpoint, g_free);
	if (!mo_app_fill_endpoints(app, error) || !mo_app_validate(app, error))
		return NULL;
	return g_steal_pointer(&app);
}

/* The keyring's account, when there is a keyring and the account is in it; NULL otherwise
 * (without an error), as export also works where there is no keyring. */
static MoAccount *
mo_export_keyring_account(MoCli *cli, const gchar *name, gboolean required, GError **error)
{
	g_autoptr(GError) error_local = NULL;
	g_autoptr(MoAccount) account = NULL;
	MoKeyring *keyring = mo_cli_get_keyring(cli, &error_local);

	if (keyring != NULL)
		account = mo_keyring_load_account(keyring, name, &error_local);
	if (account != NULL)
		return g_steal_pointer(&account);
	if (required || (!g_error_matches(error_local, MO_ERROR, MO_ERROR_NOT_FOUND) &&
			 !g_error_matches(error_local, MO_ERROR, MO_ERROR_KEYRING_UNAVAILABLE))) {
		g_propagate_error(error, g_steal_pointer(&error_local));
		return NULL;
	}
	g_debug("no keyring account %s: %s", name, error_local->message);
	return NULL;
}

static MoApp *
mo_export_get_app(MoCli *cli, const MoAccount *account, MoExportOptions *opts, GError **error)
{
	const gchar *name = opts->app != NULL			      ? opts->app
			    : account != NULL && account->app != NULL ? account->app
								      : NULL;
	MoKeyring *keyring;

	if (mo_cli_app_options_given(&opts->app_opts))
		return mo_cli_app_build(cli,
					name != NULL ? name : "export",
					&opts->app_opts,
					error);
	if (name == NULL)
		return mo_export_app_from_conf(account != NULL ? account->name : "export", error);
	keyring = mo_cli_get_keyring(cli, error);
	if (keyring == NULL)
		return NULL;
	return mo_keyring_load_app(keyring, name, error);
}

/* A grant of postfix's own, signed in for SMTP: the keyring's grant stays untouched, and
 * neither holder can make the provider revoke the other by reusing a rotated refresh token. */
/* SMTP's scopes: Microsoft's and Google's presets; for another provider, what the account
 * was signed in with (its mail scope is not known otherwise), or --scope. */
static gchar *
mo_export_scope(const MoApp *app, const MoAccount *account, const MoExportOptions *opts)
{
	if (opts->scope != NULL)
		return g_strdup(opts->scope);
	if (app->provider == MO_PROVIDER_CUSTOM && account != NULL && account->token != NULL &&
	    account->token->scope != NULL)
		return g_strdup(account->token->scope);
	return mo_provider_get_scopes(app->provider, MO_PURPOSE_SMTP);
}

static MoToken *
mo_export_sign_in(MoCli *cli,
		  const gchar *name,
		  const MoApp *app,
		  const MoAccount *account,
		  const MoExportOptions *opts,
		  GError **error)
{
	MoSignInOptions signin = {
		.flow = opts->flow,
		.login_hint = opts->login_hint,
		.port = opts->port,
		.timeout = opts->timeout,
		.no_browser = opts->no_browser,
	};
	g_autofree gchar *scope = mo_export_scope(app, account, opts);

	g_printerr(_("Signing in a separate grant of %s for postfix (SMTP); the keyring's own "
		     "token stays as it is.\n"),
		   name);
	return mo_cli_sign_in(cli, name, app, scope, &signin, error);
}

/* The sasl-xoauth2 token file: its format, with the client in it, so that sasl-xoauth2's own
 * plugin can use it as well as ours. */
static gchar *
mo_export_build_file(const MoToken *token, const MoApp *app, const gchar *user)
{
	g_autoptr(MoTokenFile) file = g_new0(MoTokenFile, 1);

	file->document = mo_json_new_object();
	file->token = mo_token_copy(token);
	file->user = g_strdup(user);
	file->client_id = g_strdup(app->client_id);
	file->client_secret = g_strdup(app->client_secret);
	file->token_endpoint = g_strdup(app->token_endpoint);
	return mo_token_file_serialize(file);
}

/* The relay of the provider's SMTP service, or the one given. */
static gchar *
mo_export_relay(const MoApp *app, const gchar *relay)
{
	if (relay != NULL && relay[0] == '[')
		return g_strdup(relay);
	if (relay != NULL && strchr(relay, ':') != NULL)
		return g_strdup_printf("[%.*s]%s",
				       (int)(strchr(relay, ':') - relay),
				       relay,
				       strchr(relay, ':'));
	if (relay != NULL)
		return g_strdup_printf("[%s]:%d", relay, MO_EXPORT_DEFAULT_PORT);
	if (app != NULL && app->provider == MO_PROVIDER_MICROSOFT)
		return g_strdup("[smtp.office365.com]:587");
	if (app != NULL && app->provider == MO_PROVIDER_GOOGLE)
		return g_strdup("[smtp.gmail.com]:587");
	return NULL;
}

static void
mo_export_print_postfix(const gchar *name,
			const gchar *user,
			const gchar *relay,
			const MoExportResult *result,
			const MoExportLayout *layout)
{
	g_autofree gchar *maps = g_build_filename(layout->postfix_config, "sasl_passwd", NULL);
	const gchar *host = relay != NULL ? relay : _("[SMTP-SERVER]:587");

	if (result->chrooted)
		g_print(_("Exported %s for postfix: %s (on disk %s, inside the chroot of "
			  "postfix's smtp client)\n"),
			name,
			result->path,
			result->file);
	else
		g_print(_("Exported %s for postfix: %s\n"), name, result->path);
	g_print(_("\nAdd to %s:\n  %s %s:%s\n"), maps, host, user, result->path);
	g_print(_("or, to choose the account by sender address "
		  "(smtp_sender_dependent_authentication = yes):\n  %s %s:%s\n"),
		user,
		user,
		result->path);
	g_print(_("\nSet in main.cf (postconf -e):\n"));
	g_print("  relayhost = %s\n", host);
	g_print("  smtp_sasl_auth_enable = yes\n");
	g_print("  smtp_sasl_password_maps = hash:%s\n", maps);
	g_print("  smtp_sasl_security_options = noanonymous\n");
	g_print("  smtp_sasl_mechanism_filter = xoauth2\n");
	g_print("  smtp_tls_security_level = encrypt\n");
	g_print(_("\nThen run: postmap %s && postfix reload\n"), maps);
	g_print(_("(or run this command again with --apply to make these changes)\n"));
}

static gboolean
mo_export_apply(const gchar *via, const gchar *name, const gchar *relay, GError **error)
{
	const gchar *args[] = {"apply", name, relay, NULL};
	g_autofree gchar *out = NULL;

	if (relay == NULL) {
		g_set_error(error,
			    G_OPTION_ERROR,
			    G_OPTION_ERROR_BAD_VALUE,
			    _("--apply needs the SMTP server: --relay HOST[:PORT]"));
		return FALSE;
	}
	out = mo_export_run_helper(via, args, NULL, 0, error);
	if (out == NULL)
		return FALSE;
	g_print("%s", out);
	/* success */
	return TRUE;
}

/* The grant to export: postfix's own (signed in now), or with --copy the keyring's. */
static MoToken *
mo_export_get_grant(MoCli *cli,
		    const gchar *name,
		    const MoApp *app,
		    const MoAccount *account,
		    const MoExportOptions *opts,
		    GError **error)
{
	if (opts->copy)
		return mo_cli_get_token(cli, name, FALSE, NULL, error);
	return mo_export_sign_in(cli, name, app, account, opts, error);
}

static int
mo_export_write(MoCli *cli, const gchar *name, MoExportOptions *opts)
{
	g_autoptr(MoAccount) account = NULL;
	g_autoptr(MoApp) app = NULL;
	g_autoptr(MoToken) token = NULL;
	g_autoptr(MoExportLayout) layout = NULL;
	g_auto(MoExportResult) result = {NULL};
	g_autofree gchar *out = NULL;
	g_autofree gchar *relay = NULL;
	mo_autosecret gchar *data = NULL;
	const gchar *args[] = {"write", name, NULL};
	const gchar *user;
	const gchar *via = NULL;
	GError *error = NULL;

	if (!mo_export_name_is_valid(name, &error) ||
	    !mo_export_pick_via(opts->via, &via, &error) ||
	    (layout = mo_export_layout_load(mo_export_conf_path(), &error)) == NULL)
		return mo_cli_fail(cli, NULL, error);
	account = mo_export_keyring_account(cli, name, opts->copy, &error);
	if (error != NULL)
		return mo_cli_fail(cli, name, error);
	app = mo_export_get_app(cli, account, opts, &error);
	if (app == NULL ||
	    (token = mo_export_get_grant(cli, name, app, account, opts, &error)) == NULL)
		return mo_cli_fail(cli, name, error);
	user = opts->user != NULL			  ? opts->user
	       : account != NULL && account->user != NULL ? account->user
							  : name;
	data = mo_export_build_file(token, app, user);
	out = mo_export_run_helper(via, args, data, strlen(data), &error);
	if (out == NULL || !mo_export_parse_result(out, &result, &error))
		return mo_cli_fail(cli, NULL, error);
	relay = mo_export_relay(app, opts->relay);
	mo_export_print_postfix(name, user, relay, &result, layout);
	if (opts->apply && !mo_export_apply(via, name, relay, &error))
		return mo_cli_fail(cli, NULL, error);
	return MO_EXIT_OK;
}

static int
mo_export_remove(MoCli *cli, const gchar *name, const MoExportOptions *opts)
{
	const gchar *args[] = {"remove", name, NULL};
	g_autofree gchar *out = NULL;
	const gchar *via = NULL;
	GError *error = NULL;

	if (!mo_export_name_is_valid(name, &error) ||
	    !mo_export_pick_via(opts->via, &via, &error) ||
	    (out = mo_export_run_helper(via, args, NULL, 0, &error)) == NULL)
		return mo_cli_fail(cli, NULL, error);
	g_printerr(_("Removed the postfix export of %s; remove its line from sasl_passwd too.\n"),
		   name);
	return MO_EXIT_OK;
}

/* The status files, which anyone may read: names, paths, expiry, errors; never a token. */
static GPtrArray *
mo_export_read_statuses(const MoExportLayout *layout, GError **error)
{
	g_autoptr(GPtrArray) statuses =
		g_ptr_array_new_with_free_func((GDestroyNotify)mo_export_status_free);
	g_autoptr(GError) error_local = NULL;
	g_autoptr(GDir) dir = g_dir_open(layout->status_directory, 0, &error_local);
	g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
	const gchar *entry;

	if (dir == NULL) {
		if (g_error_matches(error_local, G_FILE_ERROR, G_FILE_ERROR_NOENT))
			return g_steal_pointer(&statuses);
		g_propagate_error(error, g_steal_pointer(&error_local));
		return NULL;
	}
	while ((entry = g_dir_read_name(dir)) != NULL) {
		if (entry[0] != '.')
			g_ptr_array_add(names, g_strdup(entry));
	}
	g_ptr_array_sort(names, mo_cli_compare_paths);
	for (guint i = 0; i < names->len; i++) {
		g_autofree gchar *path =
			g_build_filename(layout->status_directory, names->pdata[i], NULL);
		MoExportStatus *status = mo_export_status_read(path, error);
		if (status == NULL)
			return NULL;
		g_ptr_array_add(statuses, status);
	}
	return g_steal_pointer(&statuses);
}

/**
 * mo_cli_print_export:
 * @status: an export's status
 * @now: the time, in seconds since the epoch
 *
 * Two or three lines on stdout: the account and its path as postfix names it, expiry and
 * last refresh, and what to do when the last refresh failed.
 */
void
mo_cli_print_export(const MoExportStatus *status, gint64 now)
{
	g_autofree gchar *until = mo_cli_format_expiry(status->expiry, now);
	g_autofree gchar *refreshed = status->last_refresh > 0
					      ? mo_cli_format_time(status->last_refresh, now)
					      : g_strdup(_("never"));
	/* status files are written by the mail owner: untrusted text for a terminal */
	g_autofree gchar *account = mo_text_escape(status->account);
	g_autofree gchar *path = mo_text_escape(status->path);
	g_autofree gchar *last_error =
		status->last_error != NULL ? mo_text_escape(status->last_error) : NULL;

	g_print("%s\t%s\n", account, path);
	g_print(_("  access token %s; last refresh %s\n"), until, refreshed);
	if (status->needs_sign_in)
		g_print(_("  needs a new sign-in: run “mailoauth export %s”\n"), account);
	else if (last_error != NULL)
		g_print(_("  last refresh failed: %s\n"), last_error);
}

/**
 * mo_cli_read_exports:
 * @error: a #GError, or %NULL
 *
 * The status of every account exported for postfix, by name; empty when there is none.
 *
 * Returns: (transfer full) (element-type MoExportStatus): the statuses, or %NULL on error
 */
GPtrArray *
mo_cli_read_exports(GError **error)
{
	g_autoptr(MoExportLayout) layout = mo_export_layout_load(mo_export_conf_path(), error);

	if (layout == NULL)
		return NULL;
	return mo_export_read_statuses(layout, error);
}

static int
mo_export_list(MoCli *cli, const MoExportOptions *opts)
{
	g_autoptr(MoExportLayout) layout = NULL;
	g_autoptr(GPtrArray) statuses = NULL;
	gint64 now = g_get_real_time() / G_USEC_PER_SEC;
	GError *error = NULL;

	layout = mo_export_layout_load(mo_export_conf_path(), &error);
	if (layout == NULL || (statuses = mo_export_read_statuses(layout, &error)) == NULL)
		return mo_cli_fail(cli, NULL, error);
	if (opts->json) {
		g_print("[");
		for (guint i = 0; i < statuses->len; i++) {
			g_autofree gchar *json = mo_export_status_to_json(statuses->pdata[i]);
			g_print("%s%s", i > 0 ? "," : "", json);
		}
		g_print("]\n");
		return MO_EXIT_OK;
	}
	if (statuses->len == 0)
		g_printerr(_("No accounts are exported for postfix (in %s).\n"),
			   layout->status_directory);
	for (guint i = 0; i < statuses->len; i++)
		mo_cli_print_export(statuses->pdata[i], now);
	return MO_EXIT_OK;
}

static MoExportOptions mo_export_opts = {.timeout = MO_EXPORT_TIMEOUT};

static const GOptionEntry mo_export_entries[] = {
	{"copy",
	 0,
	 0,
	 G_OPTION_ARG_NONE,
	 &mo_export_opts.copy,
	 N_("Export the keyring's grant instead of signing in a separate one (only for providers "
	    "that do not revoke a grant whose old refresh token is used again)"),
	 NULL},
	{"remove",
	 0,
	 0,
	 G_OPTION_ARG_NONE,
	 &mo_export_opts.remove,
	 N_("Remove the exported file of ACCOUNT"),
	 NULL},
	{"list",
	 0,
	 0,
	 G_OPTION_ARG_NONE,
	 &mo_export_opts.list,
	 N_("List the exported accounts: paths, expiry, last refresh, errors"),
	 NULL},
	{"json", 0, 0, G_OPTION_ARG_NONE, &mo_export_opts.json, N_("With --list: as JSON"), NULL},
	{"apply",
	 0,
	 0,
	 G_OPTION_ARG_NONE,
	 &mo_export_opts.apply,
	 N_("Also make the postfix changes (postconf -e, sasl_passwd, postmap; main.cf is "
	    "backed up first)"),
	 NULL},
	{"relay",
	 0,
	 0,
	 G_OPTION_ARG_STRING,
	 &mo_export_opts.relay,
	 N_("The SMTP server postfix relays through (default: Microsoft's or Google's)"),
	 N_("HOST[:PORT]")},
	{"scope",
	 0,
	 0,
	 G_OPTION_ARG_STRING,
	 &mo_export_opts.scope,
	 N_("Exact scopes to ask for (default: SMTP's; for other providers the account's)"),
	 N_("SCOPES")},
	{"app",
	 'a',
	 0,
	 G_OPTION_ARG_STRING,
	 &mo_export_opts.app,
	 N_("The app to sign in with (default: the account's)"),
	 N_("APP")},
	{"user",
	 'u',
	 0,
	 G_OPTION_ARG_STRING,
	 &mo_export_opts.user,
	 N_("SASL login name (default: the account's)"),
	 N_("USER")},
	{"via",
	 0,
	 0,
	 G_OPTION_ARG_STRING,
	 &mo_export_opts.via,
	 N_("How the root helper runs: pkexec (default), sudo, or direct (as root)"),
	 N_("HOW")},
	{"flow",
	 0,
	 0,
	 G_OPTION_ARG_STRING,
	 &mo_export_opts.flow,
	 N_("device, browser or paste (default: device for Microsoft, browser for Google)"),
	 N_("FLOW")},
	{"login-hint",
	 0,
	 0,
	 G_OPTION_ARG_STRING,
	 &mo_export_opts.login_hint,
	 N_("Suggest this address on the sign-in page"),
	 N_("ADDRESS")},
	{"port",
	 0,
	 0,
	 G_OPTION_ARG_INT,
	 &mo_export_opts.port,
	 N_("Port of the browser flow's listener on 127.0.0.1 (default: any free one)"),
	 N_("PORT")},
	{"timeout",
	 0,
	 0,
	 G_OPTION_ARG_INT,
	 &mo_export_opts.timeout,
	 N_("Seconds to wait for the browser (default 300)"),
	 N_("SECONDS")},
	{"no-browser",
	 0,
	 0,
	 G_OPTION_ARG_NONE,
	 &mo_export_opts.no_browser,
	 N_("Print the address but do not open a browser"),
	 NULL},
	{NULL},
};

static void
mo_export_options_clear(MoExportOptions *opts)
{
	g_free(opts->app);
	g_free(opts->user);
	g_free(opts->relay);
	g_free(opts->scope);
	g_free(opts->via);
	g_free(opts->flow);
	g_free(opts->login_hint);
	mo_cli_app_options_clear(&opts->app_opts);
}

static int
mo_export_dispatch(MoCli *cli, int argc, char **argv, MoExportOptions *opts)
{
	if (opts->list + opts->remove > 1 || (opts->list && argc != 1) ||
	    (!opts->list && argc != 2)) {
		g_printerr(_("mailoauth export: give ACCOUNT, --remove ACCOUNT or --list (see "
			     "“mailoauth export --help”)\n"));
		return MO_EXIT_USAGE;
	}
	if (opts->port < 0 || opts->port > 65535 || opts->timeout <= 0) {
		g_printerr(_("mailoauth export: --port must be 0–65535 and --timeout positive\n"));
		return MO_EXIT_USAGE;
	}
	if (opts->list)
		return mo_export_list(cli, opts);
	if (opts->remove)
		return mo_export_remove(cli, argv[1], opts);
	return mo_export_write(cli, argv[1], opts);
}

int
mo_cmd_export(MoCli *cli, int argc, char **argv)
{
	GOptionEntry app_entries[MO_APP_OPTION_ENTRIES + 1];
	GError *error = NULL;
	int rc;

	mo_cli_app_option_entries(&mo_export_opts.app_opts, app_entries);
	if (!mo_cli_parse_with(
		    cli,
		    _("ACCOUNT | --remove ACCOUNT | --list"),
		    _("Writes a token file of ACCOUNT for postfix, which cannot reach the keyring, "
		      "through the root helper (pkexec), and prints the postfix settings to use "
		      "it. By default it signs in a separate grant for SMTP, so that postfix and "
		      "the keyring never share a refresh token."),
		    mo_export_entries,
		    app_entries,
		    &argc,
		    &argv,
		    0,
		    1,
		    &error))
		return mo_cli_fail(cli, NULL, error);
	rc = mo_export_dispatch(cli, argc, argv, &mo_export_opts);
	mo_export_options_clear(&mo_export_opts);
	return rc;
}
