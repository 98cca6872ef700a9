/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <glib/gi18n-lib.h>

#include "mo-app.h"
#include "mo-error.h"
#include "mo-json.h"
#include "mo-secure.h"

MoApp *
mo_app_new(const gchar *name, MoProvider provider)
{
	MoApp *app = g_new0(MoApp, 1);
	app->name = g_strdup(name);
	app->provider = provider;
	return app;
}

void
mo_app_free(MoApp *app)
{
	if (app == NULL)
		return;
	g_free(app->name);
	g_free(app->tenant);
	g_free(app->client_id);
	mo_secure_free(app->client_secret);
	g_free(app->token_endpoint);
	g_free(app->authorize_endpoint);
	g_free(app->device_endpoint);
	g_free(app->issuer);
	g_free(app->ca_bundle_file);
	g_free(app->ca_certs_dir);
	g_free(app->proxy);
	g_free(app);
}

/* Presets fill only what the user did not give. */
gboolean
mo_app_fill_endpoints(MoApp *app, GError **error)
{
	MoEndpoints preset = {NULL};

	if (!mo_provider_get_endpoints(app->provider, app->tenant, &preset, error))
		return FALSE;
	if (app->token_endpoint == NULL)
		app->token_endpoint = g_steal_pointer(&preset.token_endpoint);
	if (app->authorize_endpoint == NULL)
		app->authorize_endpoint = g_steal_pointer(&preset.authorize_endpoint);
	if (app->device_endpoint == NULL)
		app->device_endpoint = g_steal_pointer(&preset.device_endpoint);
	if (app->issuer == NULL)
		app->issuer = g_steal_pointer(&preset.issuer);
	mo_endpoints_clear(&preset);
	return TRUE;
}

gboolean
mo_app_validate(const MoApp *app, GError **error)
{
	const gchar *endpoints[] = {app->token_endpoint,
				    app->authorize_endpoint,
				    app->device_endpoint};

	if (app->client_id == NULL || app->client_id[0] == '\0') {
		g_set_error(error,
			    MO_ERROR,
			    MO_ERROR_INVALID_ARGUMENT,
			    _("App “%s” has no client ID"),
			    app->name);
		return FALSE;
	}
	if (app->token_endpoint == NULL) {
		g_set_error(error,
			    MO_ERROR,
			    MO_ERROR_INVALID_ARGUMENT,
			    _("App “%s” has no token endpoint (give --token-endpoint)"),
			    app->name);
		return FALSE;
	}
	for (guint i = 0; i < G_N_ELEMENTS(endpoints); i++) {
		if (endpoints[i] != NULL && !mo_url_check_endpoint(endpoints[i], error))
			return FALSE;
	}
	return TRUE;
}

MoApp *
mo_app_from_json(const gchar *json, const gchar *name, GError **error)
{
	g_autofree gchar *what = g_strdup_printf(_("keyring item of app “%s”"), name);
	g_autoptr(MoJson) obj = mo_json_parse_object(json, -1, what, error);
	g_autoptr(MoApp) app = NULL;
	g_autofree gchar *provider = NULL;

	if (obj == NULL)
		return NULL;
	app = mo_app_new(name, MO_PROVIDER_CUSTOM);
	if (!mo_json_check_version(obj, MO_APP_JSON_VERSION, what, error) ||
	    !mo_json_get_string(obj, "provider", &provider, what, error) ||
	    !mo_json_get_string(obj, "tenant", &app->tenant, what, error) ||
	    !mo_json_get_string(obj, "client_id", &app->client_id, what, error) ||
	    !mo_json_get_string(obj, "client_secret", &app->client_secret, what, error) ||
	    !mo_json_get_string(obj, "token_endpoint", &app->token_endpoint, what, error) ||
	    !mo_json_get_string(obj, "authorize_endpoint", &app->authorize_endpoint, what, error) ||
	    !mo_json_get_string(obj, "device_endpoint", &app->device_endpoint, what, error) ||
	    !mo_json_get_string(obj, "issuer", &app->issuer, what, error))
		return NULL;
	if (provider != NULL && !mo_provider_from_string(provider, &app->provider)) {
		g_set_error(error,
			    MO_ERROR,
			    MO_ERROR_INVALID_DATA,
			    _("The %s names an unknown provider “%s”"),
			    what,
			    provider);
		return NULL;
	}
	if (!mo_app_fill_endpoints(app, error))
		return NULL;
	return g_steal_pointer(&app);
}

gchar *
mo_app_to_json(const MoApp *app)
{
	g_autoptr(MoJson) obj = mo_json_new_object();

	mo_json_set_int64(obj, "version", MO_APP_JSON_VERSION);
	mo_json_set_string(obj, "app", app->name);
	mo_json_set_string(obj, "provider", mo_provider_to_string(app->provider));
	mo_json_set_string(obj, "tenant", app->tenant);
	mo_json_set_string(obj, "client_id", app->client_id);
	mo_json_set_string(obj, "client_secret", app->client_secret);
	mo_json_set_string(obj, "token_endpoint", app->token_endpoint);
	mo_json_set_string(obj, "authorize_endpoint", app->authorize_endpoint);
	mo_json_set_string(obj, "device_endpoint", app->device_endpoint);
	mo_json_set_string(obj, "issuer", app->issuer);
	return mo_json_to_string(obj, FALSE);
}
