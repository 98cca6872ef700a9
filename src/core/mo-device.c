/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <glib/gi18n-lib.h>
#include <string.h>

#include "mo-authorize.h"
#include "mo-error.h"
#include "mo-json.h"
#include "mo-oauth.h"
#include "mo-secure.h"

#define MO_DEVICE_MAX_EXPIRES_IN 3600
#define MO_DEVICE_MAX_INTERVAL	 60
#define MO_USER_CODE_MAX_LEN	 64
#define MO_DEVICE_GRANT_TYPE	 "urn:ietf:params:oauth:grant-type:device_code"
#define MO_DEVICE_SLEEP_STEP_MS	 100

void
mo_device_auth_free(MoDeviceAuth *device)
{
	if (device == NULL)
		return;
	mo_secure_free(device->device_code);
	g_free(device->user_code);
	g_free(device->verification_uri);
	g_free(device->verification_uri_complete);
	g_free(device);
}

/* What we show the user comes from the server: a URI that is not http(s), or a code with
 * control characters, could mislead or mangle the terminal. */
static gboolean
mo_device_validate(MoDeviceAuth *device, const gchar *what, GError **error)
{
	gboolean code_ok = device->user_code != NULL && device->user_code[0] != '\0' &&
			   strlen(device->user_code) <= MO_USER_CODE_MAX_LEN;

	for (const gchar *p = device->user_code; code_ok && *p != '\0'; p++)
		code_ok = (guchar)*p > 0x20 && (guchar)*p < 0x7f;
	if (device->device_code == NULL || device->device_code[0] == '\0' || !code_ok ||
	    device->verification_uri == NULL) {
		g_set_error(error,
			    MO_ERROR,
			    MO_ERROR_PROTOCOL,
			    _("The %s lacks a usable device_code, user_code or verification_uri"),
			    what);
		return FALSE;
	}
	if (!mo_url_check_endpoint(device->verification_uri, error))
		return FALSE;
	if (device->verification_uri_complete != NULL &&
	    !mo_url_check_endpoint(device->verification_uri_complete, NULL))
		g_clear_pointer(&device->verification_uri_complete, g_free);
	device->expires_in = CLAMP(device->expires_in > 0 ? device->expires_in : 600,
				   1,
				   MO_DEVICE_MAX_EXPIRES_IN);
	device->interval =
		CLAMP(device->interval > 0 ? device->interval : MO_DEVICE_DEFAULT_INTERVAL,
		      1,
		      MO_DEVICE_MAX_INTERVAL);
	return TRUE;
}

/* expires_in and interval are hints: a negative one means the default (0 here, replaced in
 * mo_device_validate); one of the wrong type is an error like any other. */
static gboolean
mo_device_get_hint(const MoJson *obj,
		   const gchar *member,
		   gint64 *out,
		   const gchar *what,
		   GError **error)
{
	const gchar *text = mo_json_get_number_text(mo_json_object_get(obj, member));

	*out = 0;
	if (text != NULL && text[0] == '-')
		return TRUE;
	return mo_json_get_int64(obj, member, out, what, error);
}

static gboolean
mo_device_read(MoDeviceAuth *device,
	       const gchar *body,
	       gsize body_len,
	       const gchar *what,
	       GError **error)
{
	g_autoptr(MoJson) obj = mo_json_parse_object(body, body_len, what, error);
	g_autofree gchar *legacy_uri = NULL;

	/* verification_url: what Google's endpoint sent before RFC 8628 */
	if (obj == NULL ||
	    !mo_json_get_string(obj, "device_code", &device->device_code, what, error) ||
	    !mo_json_get_string(obj, "user_code", &device->user_code, what, error) ||
	    !mo_json_get_string(obj, "verification_uri", &device->verification_uri, what, error) ||
	    !mo_json_get_string(obj, "verification_url", &legacy_uri, what, error) ||
	    !mo_json_get_string(obj,
				"verification_uri_complete",
				&device->verification_uri_complete,
				what,
				error) ||
	    !mo_device_get_hint(obj, "expires_in", &device->expires_in, what, error) ||
	    !mo_device_get_hint(obj, "interval", &device->interval, what, error))
		return FALSE;
	if (device->verification_uri == NULL)
		device->verification_uri = g_steal_pointer(&legacy_uri);
	return TRUE;
}

MoDeviceAuth *
mo_device_parse_response(guint status, const gchar *body, gsize body_len, GError **error)
{
	g_autoptr(MoDeviceAuth) device = g_new0(MoDeviceAuth, 1);
	GError *error_local = NULL;
	const gchar *what = _("device authorization response");

	g_return_val_if_fail(error == NULL || *error == NULL, NULL);

	if (status != 200) {
		mo_oauth_set_status_error(status,
					  body,
					  body_len,
					  _("The device authorization endpoint"),
					  error);
		return NULL;
	}
	if (!mo_device_read(device, body, body_len, what, &error_local) ||
	    !mo_device_validate(device, what, &error_local)) {
		mo_error_set_protocol(error, g_steal_pointer(&error_local));
		return NULL;
	}
	return g_steal_pointer(&device);
}

static gpointer
mo_device_parse_cb(const MoHttpResponse *response, GError **error)
{
	return mo_device_parse_response(response->status,
					response->body,
					response->body_len,
					error);
}

MoDeviceAuth *
mo_device_start(const MoApp *app, const gchar *scope, const MoHttpOptions *options, GError **error)
{
	const gchar *params[] = {"scope", scope, NULL};

	g_return_val_if_fail(error == NULL || *error == NULL, NULL);

	if (app->device_endpoint == NULL) {
		g_set_error(error,
			    MO_ERROR,
			    MO_ERROR_INVALID_ARGUMENT,
			    _("App %s has no device authorization endpoint; use --flow browser "
			      "or --flow paste"),
			    app->name);
		return NULL;
	}
	return mo_oauth_client_post(app,
				    app->device_endpoint,
				    params,
				    mo_device_parse_cb,
				    options,
				    error);
}

/* Sleeps @seconds in short steps; FALSE when cancelled meanwhile. */
static gboolean
mo_device_sleep(gint64 seconds, MoCancelFunc cancelled, gpointer user_data)
{
	gint64 end = g_get_monotonic_time() + seconds * G_USEC_PER_SEC;

	while (g_get_monotonic_time() < end) {
		if (cancelled != NULL && cancelled(user_data))
			return FALSE;
		g_usleep(MO_DEVICE_SLEEP_STEP_MS * 1000);
	}
	return cancelled == NULL || !cancelled(user_data);
}

/* Polls the token endpoint every interval until the user approved, declined, or the code
 * expired (RFC 8628 §3.4-3.5). slow_down adds 5 s to the interval for good. */
MoToken *
mo_device_wait(const MoApp *app,
	       const MoDeviceAuth *device,
	       const MoHttpOptions *options,
	       MoCancelFunc cancelled,
	       gpointer user_data,
	       GError **error)
{
	const gchar *grant[] = {"grant_type",
				MO_DEVICE_GRANT_TYPE,
				"device_code",
				device->device_code,
				NULL};
	gint64 deadline = g_get_monotonic_time() + device->expires_in * G_USEC_PER_SEC;
	gint64 interval = device->interval;

	g_return_val_if_fail(error == NULL || *error == NULL, NULL);

	for (;;) {
		g_autoptr(GError) error_local = NULL;
		MoToken *token;

		if (!mo_device_sleep(interval, cancelled, user_data)) {
			g_set_error(error, MO_ERROR, MO_ERROR_CANCELLED, _("Cancelled"));
			return NULL;
		}
		if (g_get_monotonic_time() >= deadline) {
			g_set_error(error,
				    MO_OAUTH_ERROR,
				    MO_OAUTH_ERROR_EXPIRED_TOKEN,
				    _("The code expired before the sign-in was completed; run the "
				      "command again"));
			return NULL;
		}
		token = mo_oauth_token_request(app, grant, options, &error_local);
		if (token != NULL)
			return token;
		if (g_error_matches(error_local, MO_OAUTH_ERROR, MO_OAUTH_ERROR_SLOW_DOWN))
			interval = MIN(interval + MO_DEVICE_SLOW_DOWN_STEP, MO_DEVICE_MAX_INTERVAL);
		else if (!g_error_matches(error_local,
					  MO_OAUTH_ERROR,
					  MO_OAUTH_ERROR_AUTHORIZATION_PENDING)) {
			g_propagate_error(error, g_steal_pointer(&error_local));
			return NULL;
		}
	}
}
