/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <gio/gio.h>
#include <glib/gi18n.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "mo-authorize.h"
#include "mo-cli.h"
#include "mo-loopback.h"
#include "mo-secure.h"

/* The sign-in flows shared by "authorize" (the keyring's grant) and "export" (postfix's own
 * grant): device, browser (loopback + PKCE) and paste. */

typedef enum {
	MO_FLOW_DEVICE,
	MO_FLOW_BROWSER,
	MO_FLOW_PASTE,
} MoFlow;

static volatile sig_atomic_t mo_cli_signin_interrupted = 0;

static void
mo_cli_signin_on_sigint(int signum)
{
	mo_cli_signin_interrupted = 1;
}

static gboolean
mo_cli_signin_cancelled(gpointer user_data)
{
	return mo_cli_signin_interrupted != 0;
}

/* Ctrl-C stops waiting cleanly: the listener is closed and nothing is stored. (SIGTERM
 * keeps its default: nothing is stored either way, and the exit status tells which.) */
static void
mo_cli_signin_catch_sigint(void)
{
	struct sigaction sa = {.sa_handler = mo_cli_signin_on_sigint};

	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
}

static gboolean
mo_cli_signin_pick_flow(const MoApp *app, const gchar *name, MoFlow *flow, GError **error)
{
	if (name == NULL) {
		/* Microsoft: the device flow works everywhere, SSH included; Google allows no
		 * device flow for mail; others: the device flow where the server has one */
		*flow = app->provider == MO_PROVIDER_GOOGLE ? MO_FLOW_BROWSER
			: app->device_endpoint != NULL	    ? MO_FLOW_DEVICE
							    : MO_FLOW_BROWSER;
		return TRUE;
	}
	if (g_strcmp0(name, "device") == 0)
		*flow = MO_FLOW_DEVICE;
	else if (g_strcmp0(name, "browser") == 0)
		*flow = MO_FLOW_BROWSER;
	else if (g_strcmp0(name, "paste") == 0)
		*flow = MO_FLOW_PASTE;
	else {
		g_set_error(error,
			    G_OPTION_ERROR,
			    G_OPTION_ERROR_BAD_VALUE,
			    _("--flow must be device, browser or paste"));
		return FALSE;
	}
	if (*flow == MO_FLOW_DEVICE && app->provider == MO_PROVIDER_GOOGLE) {
		g_set_error(error,
			    G_OPTION_ERROR,
			    G_OPTION_ERROR_BAD_VALUE,
			    _("Google does not allow the device flow for mail (it answers "
			      "invalid_scope); use --flow browser, or --flow paste over SSH"));
		return FALSE;
	}
	return TRUE;
}

static MoToken *
mo_cli_signin_device(MoCli *cli,
		     const gchar *account,
		     const MoApp *app,
		     const gchar *scope,
		     GError **error)
{
	g_autoptr(MoDeviceAuth) device = mo_device_start(app, scope, &cli->config.http, error);
	g_autofree gchar *uri = NULL;
	g_autofree gchar *code = NULL;
	g_autofree gchar *uri_complete = NULL;

	if (device == NULL)
		return NULL;
	/* the provider's text, for the terminal */
	uri = mo_text_escape(device->verification_uri);
	code = mo_text_escape(device->user_code);
	g_printerr(_("To sign in to %s, open\n  %s\nand enter the code %s\n"), account, uri, code);
	if (device->verification_uri_complete != NULL) {
		uri_complete = mo_text_escape(device->verification_uri_complete);
		g_printerr(_("(or open this address, which has the code in it:\n  %s\n)\n"),
			   uri_complete);
	}
	if (device->expires_in < 120)
		g_printerr(
			_("Waiting for the sign-in; the code expires in %lld s. Ctrl-C cancels.\n"),
			(long long)device->expires_in);
	else
		g_printerr(_("Waiting for the sign-in; the code expires in %lld min. Ctrl-C "
			     "cancels.\n"),
			   (long long)device->expires_in / 60);
	return mo_device_wait(app, device, &cli->config.http, mo_cli_signin_cancelled, NULL, error);
}

/* The default browser, where there is a desktop; the URL is always printed too. */
static void
mo_cli_signin_open_browser(const gchar *url)
{
	g_autoptr(GError) error_local = NULL;

	if (g_getenv("DISPLAY") == NULL && g_getenv("WAYLAND_DISPLAY") == NULL)
		return;
	if (!g_app_info_launch_default_for_uri(url, NULL, &error_local))
		g_debug("cannot open a browser: %s", error_local->message);
}

static MoToken *
mo_cli_signin_browser(MoCli *cli,
		      const gchar *account,
		      const MoApp *app,
		      const gchar *scope,
		      const MoSignInOptions *opts,
		      GError **error)
{
	g_autoptr(MoLoopback) loopback = mo_loopback_new((guint16)opts->port, error);
	g_autoptr(MoAuthRequest) request = NULL;
	g_autoptr(MoRedirect) redirect = NULL;
	g_autofree gchar *redirect_uri = NULL;

	if (loopback == NULL)
		return NULL;
	redirect_uri = mo_loopback_get_redirect_uri(loopback);
	request = mo_auth_request_new(app, scope, redirect_uri, opts->login_hint, error);
	if (request == NULL)
		return NULL;
	g_printerr(_("To sign in to %s, open this address in your browser:\n  %s\n"),
		   account,
		   request->url);
	g_printerr(_("Waiting for the browser to come back to %s (at most %d s; Ctrl-C "
		     "cancels).\n"),
		   redirect_uri,
		   opts->timeout);
	if (!opts->no_browser)
		mo_cli_signin_open_browser(request->url);
	redirect = mo_loopback_wait(loopback,
				    request,
				    app,
				    (guint)opts->timeout,
				    mo_cli_signin_cancelled,
				    NULL,
				    error);
	if (redirect == NULL)
		return NULL;
	return mo_auth_request_exchange(request, app, redirect->code, &cli->config.http, error);
}

/* For machines without a browser (SSH): the user opens the URL elsewhere and pastes back
 * where the browser was sent; nothing listens there, the page failing to load is expected. */
static MoToken *
mo_cli_signin_paste(MoCli *cli,
		    const gchar *account,
		    const MoApp *app,
		    const gchar *scope,
		    const MoSignInOptions *opts,
		    GError **error)
{
	g_autoptr(MoAuthRequest) request = NULL;
	g_autoptr(MoRedirect) redirect = NULL;
	g_autofree gchar *redirect_uri = NULL;
	mo_autosecret gchar *line = NULL;

	redirect_uri = g_strdup_printf("http://127.0.0.1:%d/", opts->port > 0 ? opts->port : 1);
	request = mo_auth_request_new(app, scope, redirect_uri, opts->login_hint, error);
	if (request == NULL)
		return NULL;
	g_printerr(_("To sign in to %s, open this address in a browser on any machine:\n  %s\n"
		     "After signing in, the browser goes to %s… and shows an error: that is "
		     "expected. Copy that whole address from the address bar and paste it here.\n"),
		   account,
		   request->url,
		   redirect_uri);
	line = mo_cli_read_line_prompt(_("Address: "), MO_REDIRECT_MAX_LEN, error);
	if (line == NULL)
		return NULL;
	redirect = mo_redirect_parse_pasted(line, error);
	if (redirect == NULL || !mo_auth_request_check_redirect(request, app, redirect, error))
		return NULL;
	return mo_auth_request_exchange(request, app, redirect->code, &cli->config.http, error);
}

/**
 * mo_cli_sign_in:
 * @cli: the run
 * @account: the account, for messages
 * @app: the app to sign in with
 * @scope: the scopes to ask for
 * @opts: the flow and its settings
 * @error: a #GError, or %NULL
 *
 * Runs one sign-in (device, browser or paste flow) and returns what the provider issued;
 * nothing is stored. Ctrl-C makes it fail with %MO_ERROR_CANCELLED.
 *
 * Returns: (transfer full): the new token, or %NULL with @error set
 */
MoToken *
mo_cli_sign_in(MoCli *cli,
	       const gchar *account,
	       const MoApp *app,
	       const gchar *scope,
	       const MoSignInOptions *opts,
	       GError **error)
{
	MoFlow flow;

	g_return_val_if_fail(error == NULL || *error == NULL, NULL);

	if (!mo_cli_signin_pick_flow(app, opts->flow, &flow, error))
		return NULL;
	mo_cli_signin_catch_sigint();
	switch (flow) {
	case MO_FLOW_DEVICE:
		return mo_cli_signin_device(cli, account, app, scope, error);
	case MO_FLOW_BROWSER:
		return mo_cli_signin_browser(cli, account, app, scope, opts, error);
	case MO_FLOW_PASTE:
	default:
		return mo_cli_signin_paste(cli, account, app, scope, opts, error);
	}
}
