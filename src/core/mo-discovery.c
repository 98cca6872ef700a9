/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <glib/gi18n-lib.h>
#include <string.h>

#include "mo-authorize.h"
#include "mo-error.h"
#include "mo-json.h"

static gboolean
mo_discovery_take(const MoJson *obj,
		  const gchar *member,
		  gchar **slot,
		  const gchar *what,
		  GError **error)
{
	g_autofree gchar *value = NULL;

	if (!mo_json_get_string(obj, member, &value, what, error))
		return FALSE;
	if (value != NULL && !mo_url_check_endpoint(value, error))
		return FALSE;
	/* what the user gave explicitly wins */
	if (*slot == NULL)
		*slot = g_steal_pointer(&value);
	return TRUE;
}

/* The issuer as given and as the document says it, trailing slashes aside (Auth0's end in
 * one, most others' do not). */
static gboolean
mo_discovery_issuer_matches(const gchar *found, const gchar *base)
{
	g_autofree gchar *stripped = g_strdup(found != NULL ? found : "");

	while (g_str_has_suffix(stripped, "/"))
		stripped[strlen(stripped) - 1] = '\0';
	return stripped[0] != '\0' && g_strcmp0(stripped, base) == 0;
}

/* The issuer, which must be the one asked for (§4.3), then the endpoints. */
static gboolean
mo_discovery_read(MoApp *app,
		  const MoJson *obj,
		  const gchar *base,
		  gchar **issuer,
		  const gchar *what,
		  GError **error)
{
	if (!mo_json_get_string(obj, "issuer", issuer, what, error))
		return FALSE;
	if (!mo_discovery_issuer_matches(*issuer, base)) {
		g_set_error(error,
			    MO_ERROR,
			    MO_ERROR_PROTOCOL,
			    _("The %s names the issuer %s, not %s"),
			    what,
			    *issuer != NULL ? *issuer : "(none)",
			    base);
		return FALSE;
	}
	return mo_discovery_take(obj,
				 "authorization_endpoint",
				 &app->authorize_endpoint,
				 what,
				 error) &&
	       mo_discovery_take(obj, "token_endpoint", &app->token_endpoint, what, error) &&
	       mo_discovery_take(obj,
				 "device_authorization_endpoint",
				 &app->device_endpoint,
				 what,
				 error);
}

/* Fills @app's endpoints from ISSUER/.well-known/openid-configuration (OpenID Connect
 * Discovery 1.0). The document's issuer must be the one asked for (§4.3). */
gboolean
mo_discover_endpoints(MoApp *app, const gchar *issuer, const MoHttpOptions *options, GError **error)
{
	g_autofree gchar *base = g_strdup(issuer);
	g_autofree gchar *url = NULL;
	g_autofree gchar *found = NULL;
	g_autoptr(MoHttpResponse) response = NULL;
	g_autoptr(MoJson) obj = NULL;
	GError *error_local = NULL;
	const gchar *what = _("discovery document");

	g_return_val_if_fail(error == NULL || *error == NULL, FALSE);

	if (!mo_url_check_endpoint(issuer, error))
		return FALSE;
	while (g_str_has_suffix(base, "/"))
		base[strlen(base) - 1] = '\0';
	url = g_strconcat(base, "/.well-known/openid-configuration", NULL);
	response = mo_http_get(url, options, error);
	if (response == NULL)
		return FALSE;
	if (response->status != 200) {
		g_set_error(error,
			    MO_ERROR,
			    mo_http_status_is_transient(response->status) ? MO_ERROR_TRANSIENT
									  : MO_ERROR_PROTOCOL,
			    _("%s answered HTTP %u"),
			    url,
			    response->status);
		return FALSE;
	}
	obj = mo_json_parse_object(response->body, response->body_len, what, &error_local);
	if (obj == NULL || !mo_discovery_read(app, obj, base, &found, what, &error_local)) {
		mo_error_set_protocol(error, g_steal_pointer(&error_local));
		return FALSE;
	}
	g_free(app->issuer);
	app->issuer = g_steal_pointer(&found);
	return TRUE;
}
