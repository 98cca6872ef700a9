/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <glib/gi18n.h>
#include <string.h>

#include "mo-authorize.h"
#include "mo-cli.h"

/* The options that describe an app, shared by "app add" and "authorize" (one-off apps). */
void
mo_cli_app_option_entries(MoAppOptions *opts, GOptionEntry *entries)
{
	const GOptionEntry template[MO_APP_OPTION_ENTRIES + 1] = {
		{"provider",
		 'p',
		 0,
		 G_OPTION_ARG_STRING,
		 &opts->provider,
		 N_("microsoft, google or custom"),
		 N_("PROVIDER")},
		{"client-id",
		 'c',
		 0,
		 G_OPTION_ARG_STRING,
		 &opts->client_id,
		 N_("The app's client (application) ID"),
		 N_("ID")},
		{"tenant",
		 't',
		 0,
		 G_OPTION_ARG_STRING,
		 &opts->tenant,
		 N_("Microsoft directory (tenant) ID or common, organizations, consumers"),
		 N_("TENANT")},
		{"issuer",
		 0,
		 0,
		 G_OPTION_ARG_STRING,
		 &opts->issuer,
		 N_("Find the endpoints at ISSUER/.well-known/openid-configuration (custom)"),
		 N_("URL")},
		{"token-endpoint",
		 0,
		 0,
		 G_OPTION_ARG_STRING,
		 &opts->token_endpoint,
		 N_("Token endpoint URL (custom providers)"),
		 N_("URL")},
		{"authorize-endpoint",
		 0,
		 0,
		 G_OPTION_ARG_STRING,
		 &opts->authorize_endpoint,
		 N_("Authorization endpoint URL (custom providers)"),
		 N_("URL")},
		{"device-endpoint",
		 0,
		 0,
		 G_OPTION_ARG_STRING,
		 &opts->device_endpoint,
		 N_("Device authorization endpoint URL (custom providers)"),
		 N_("URL")},
		{"secret",
		 's',
		 0,
		 G_OPTION_ARG_NONE,
		 &opts->secret,
		 N_("Read the client secret from a prompt, or from standard input"),
		 NULL},
		{NULL},
	};

	memcpy(entries, template, sizeof(template));
}

gboolean
mo_cli_app_options_given(const MoAppOptions *opts)
{
	return opts->provider != NULL || opts->client_id != NULL || opts->issuer != NULL;
}

void
mo_cli_app_options_clear(MoAppOptions *opts)
{
	g_free(opts->provider);
	g_free(opts->client_id);
	g_free(opts->tenant);
	g_free(opts->issuer);
	g_free(opts->token_endpoint);
	g_free(opts->authorize_endpoint);
	g_free(opts->device_endpoint);
}

static gboolean
mo_cli_app_check_provider(MoAppOptions *opts, MoProvider *provider, GError **error)
{
	if (opts->provider == NULL && opts->issuer != NULL)
		*provider = MO_PROVIDER_CUSTOM;
	else if (opts->provider == NULL || !mo_provider_from_string(opts->provider, provider)) {
		g_set_error(error,
			    G_OPTION_ERROR,
			    G_OPTION_ERROR_BAD_VALUE,
			    _("Give --provider microsoft, google or custom"));
		return FALSE;
	}
	if (opts->tenant != NULL && *provider != MO_PROVIDER_MICROSOFT) {
		g_set_error(error,
			    G_OPTION_ERROR,
			    G_OPTION_ERROR_BAD_VALUE,
			    _("--tenant applies to --provider microsoft only"));
		return FALSE;
	}
	if (opts->issuer != NULL && *provider != MO_PROVIDER_CUSTOM) {
		g_set_error(error,
			    G_OPTION_ERROR,
			    G_OPTION_ERROR_BAD_VALUE,
			    _("--issuer applies to --provider custom only"));
		return FALSE;
	}
	return TRUE;
}

/* An app from the options: presets, then discovery, then the secret (asked last, so a typo
 * in the options does not cost the user a paste). */
MoApp *
mo_cli_app_build(MoCli *cli, const gchar *name, MoAppOptions *opts, GError **error)
{
	g_autoptr(MoApp) app = NULL;
	MoProvider provider;

	if (!mo_cli_app_check_provider(opts, &provider, error))
		return NULL;
	app = mo_app_new(name, provider);
	app->client_id = g_steal_pointer(&opts->client_id);
	app->tenant = g_steal_pointer(&opts->tenant);
	app->token_endpoint = g_steal_pointer(&opts->token_endpoint);
	app->authorize_endpoint = g_steal_pointer(&opts->authorize_endpoint);
	app->device_endpoint = g_steal_pointer(&opts->device_endpoint);
	if (opts->issuer != NULL &&
	    !mo_discover_endpoints(app, opts->issuer, &cli->config.http, error))
		return NULL;
	if (!mo_app_fill_endpoints(app, error) || !mo_app_validate(app, error))
		return NULL;
	if (opts->secret) {
		app->client_secret = mo_cli_read_secret(_("Client secret: "), error);
		if (app->client_secret == NULL)
			return NULL;
	}
	return g_steal_pointer(&app);
}
