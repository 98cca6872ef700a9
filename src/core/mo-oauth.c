/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <glib/gi18n-lib.h>
#include <string.h>

#include "mo-error.h"
#include "mo-json.h"
#include "mo-oauth.h"
#include "mo-secure.h"

/* Ten years: longer than any access token lives. */
#define MO_OAUTH_MAX_EXPIRES_IN (10 * 366 * 24 * 3600)
/* Bytes of a provider's error code or description shown in a message: enough for Microsoft's
 * AADSTS number and text, and most of its trace and correlation IDs. */
#define MO_OAUTH_TEXT_MAX 512

/* A provider's text for a message: escaped, and cut to MO_OAUTH_TEXT_MAX bytes, since a broken
 * or hostile server may send anything, and a lot of it. */
static gchar *
mo_oauth_text_for_message(const gchar *text)
{
	g_autofree gchar *escaped = mo_text_escape(text);
	gsize cut = MO_OAUTH_TEXT_MAX;

	if (escaped == NULL || strlen(escaped) <= MO_OAUTH_TEXT_MAX)
		return g_steal_pointer(&escaped);
	/* not inside a UTF-8 sequence */
	while (cut > 0 && ((guchar)escaped[cut] & 0xc0) == 0x80)
		cut--;
	escaped[cut] = '\0';
	return g_strconcat(escaped, "…", NULL);
}

/* Sets @error from an error response: the provider's code and its description as they are
 * (Microsoft's AADSTS numbers are what users search for), but escaped and capped. Returns
 * FALSE when the body is not an OAuth2 error at all. */
gboolean
mo_oauth_parse_error_response(guint status, const gchar *body, gsize body_len, GError **error)
{
	g_autoptr(MoJson) obj = NULL;
	g_autofree gchar *code = NULL;
	g_autofree gchar *description = NULL;
	g_autofree gchar *shown_code = NULL;
	g_autofree gchar *shown_description = NULL;
	MoOAuthErrorCode kind;

	obj = mo_json_parse_object(body, body_len, "error response", NULL);
	if (obj == NULL || !mo_json_get_string(obj, "error", &code, "error response", NULL) ||
	    code == NULL)
		return FALSE;
	mo_json_get_string(obj, "error_description", &description, "error response", NULL);
	kind = mo_oauth_error_from_string(code);
	shown_code = mo_oauth_text_for_message(code);
	shown_description = mo_oauth_text_for_message(description);
	g_set_error(error,
		    MO_OAUTH_ERROR,
		    kind,
		    "%s%s%s (HTTP %u)",
		    shown_code,
		    shown_description != NULL ? ": " : "",
		    shown_description != NULL ? shown_description : "",
		    status);
	return TRUE;
}

/* A non-200 answer of an OAuth endpoint (@endpoint names it): temporary for 408/429/5xx (worth
 * trying again), else the server's OAuth2 error when it sent one, else a protocol error. */
void
mo_oauth_set_status_error(guint status,
			  const gchar *body,
			  gsize body_len,
			  const gchar *endpoint,
			  GError **error)
{
	if (mo_http_status_is_transient(status)) {
		g_set_error(error,
			    MO_ERROR,
			    MO_ERROR_TRANSIENT,
			    _("%s answered HTTP %u"),
			    endpoint,
			    status);
		return;
	}
	if (!mo_oauth_parse_error_response(status, body, body_len, error))
		g_set_error(error,
			    MO_ERROR,
			    MO_ERROR_PROTOCOL,
			    _("%s answered HTTP %u"),
			    endpoint,
			    status);
}

static gboolean
mo_oauth_read_expires_in(const MoJson *obj, gint64 now, gint64 *expiry, GError **error)
{
	gint64 expires_in = 0;

	/* a negative or fractional lifetime is the provider's oddity: treated as absent, for
	 * the answer (maybe a rotated refresh token) must not be refused for it */
	if (!mo_json_get_int64(obj, "expires_in", &expires_in, _("token response"), NULL))
		expires_in = 0;
	/* RFC 6749 makes expires_in optional; without it, assume the common hour rather than
	 * refreshing on every call */
	if (expires_in <= 0)
		expires_in = 3600;
	/* nothing lives longer than this; the bound also keeps now + expires_in from overflowing */
	expires_in = MIN(expires_in, MO_OAUTH_MAX_EXPIRES_IN);
	*expiry = now + expires_in;
	return TRUE;
}

/* RFC 6749 tokens are VSCHAR. One with CR/LF or escape sequences would be printed by "mailoauth
 * token" into mbsync and the terminal, and sent in SASL messages: the whole answer is refused,
 * so nothing of it is stored and the stored token stays. */
static gboolean
mo_oauth_check_token_chars(const gchar *key, const gchar *value, GError **error)
{
	if (value == NULL || mo_text_is_vschar(value))
		return TRUE;
	g_set_error(error,
		    MO_ERROR,
		    MO_ERROR_PROTOCOL,
		    _("The token endpoint sent a token (%s) with control characters or bytes "
		      "outside printable ASCII, which no token may hold; nothing of its answer was "
		      "stored and the stored token is kept. If the provider had already "
		      "replaced the refresh token with this answer, a new sign-in "
		      "(“mailoauth authorize”) may be needed"),
		    key);
	return FALSE;
}

/* A 200 answer with an access token becomes a MoToken; any other answer an error that says
 * what the provider said, and whether trying again later may help (MO_ERROR_TRANSIENT). */
MoToken *
mo_oauth_parse_token_response(guint status,
			      const gchar *body,
			      gsize body_len,
			      gint64 now,
			      GError **error)
{
	g_autoptr(MoJson) obj = NULL;
	g_autoptr(MoToken) token = NULL;
	g_autoptr(GError) error_local = NULL;
	const gchar *what = _("token response");

	g_return_val_if_fail(error == NULL || *error == NULL, NULL);

	if (status != 200) {
		mo_oauth_set_status_error(status, body, body_len, _("The token endpoint"), error);
		return NULL;
	}
	obj = mo_json_parse_object(body, body_len, what, &error_local);
	if (obj == NULL) {
		g_set_error(error,
			    MO_ERROR,
			    MO_ERROR_PROTOCOL,
			    _("The token endpoint answered HTTP 200 with something that is not a "
			      "token: %s"),
			    error_local->message);
		return NULL;
	}
	if (mo_oauth_parse_error_response(status, body, body_len, error))
		return NULL;
	token = mo_token_new();
	if (!mo_json_get_string(obj, "access_token", &token->access_token, what, &error_local) ||
	    !mo_json_get_string(obj, "refresh_token", &token->refresh_token, what, &error_local) ||
	    !mo_json_get_string(obj, "scope", &token->scope, what, &error_local) ||
	    !mo_oauth_read_expires_in(obj, now, &token->expiry, &error_local)) {
		/* the provider's answer, not our data, is at fault */
		g_set_error_literal(error, MO_ERROR, MO_ERROR_PROTOCOL, error_local->message);
		return NULL;
	}
	if (token->access_token == NULL || token->access_token[0] == '\0') {
		g_set_error(error,
			    MO_ERROR,
			    MO_ERROR_PROTOCOL,
			    _("The token endpoint answered without an access_token"));
		return NULL;
	}
	if (!mo_oauth_check_token_chars("access_token", token->access_token, error) ||
	    !mo_oauth_check_token_chars("refresh_token", token->refresh_token, error))
		return NULL;
	return g_steal_pointer(&token);
}

static guint
mo_oauth_retry_wait(guint attempt, const MoHttpResponse *response)
{
	if (response != NULL && response->retry_after >= 0)
		return MIN((guint)response->retry_after, MO_OAUTH_MAX_RETRY_WAIT);
	return MIN(1u << attempt, MO_OAUTH_MAX_RETRY_WAIT);
}

static gpointer
mo_oauth_parse_token_cb(const MoHttpResponse *response, GError **error)
{
	return mo_oauth_parse_token_response(response->status,
					     response->body,
					     response->body_len,
					     g_get_real_time() / G_USEC_PER_SEC,
					     error);
}

/* POSTs @params plus the client's credentials (client_secret_post) to @url and parses the
 * answer with @parse, retrying transient failures a bounded number of times. */
gpointer
mo_oauth_client_post(const MoApp *app,
		     const gchar *url,
		     const gchar *const *params,
		     MoOAuthParseFunc parse,
		     const MoHttpOptions *options,
		     GError **error)
{
	g_autoptr(GPtrArray) pairs = g_ptr_array_new();

	for (guint i = 0; params[i] != NULL; i++)
		g_ptr_array_add(pairs, (gpointer)params[i]);
	g_ptr_array_add(pairs, "client_id");
	g_ptr_array_add(pairs, app->client_id);
	if (app->client_secret != NULL && app->client_secret[0] != '\0') {
		g_ptr_array_add(pairs, "client_secret");
		g_ptr_array_add(pairs, app->client_secret);
	}
	g_ptr_array_add(pairs, NULL);

	for (guint attempt = 0;; attempt++) {
		g_autoptr(MoHttpResponse) response = NULL;
		g_autoptr(GError) error_local = NULL;
		gpointer result;

		response = mo_http_post_form(url,
					     (const gchar *const *)pairs->pdata,
					     options,
					     &error_local);
		if (response != NULL) {
			result = parse(response, &error_local);
			if (result != NULL)
				return result;
		}
		if (!g_error_matches(error_local, MO_ERROR, MO_ERROR_TRANSIENT) ||
		    attempt + 1 >= MO_OAUTH_MAX_ATTEMPTS) {
			g_propagate_error(error, g_steal_pointer(&error_local));
			return NULL;
		}
		g_debug("attempt %u failed (%s), retrying", attempt + 1, error_local->message);
		g_usleep(mo_oauth_retry_wait(attempt, response) * G_USEC_PER_SEC);
	}
}

/* A grant at the app's token endpoint. */
MoToken *
mo_oauth_token_request(const MoApp *app,
		       const gchar *const *grant_pairs,
		       const MoHttpOptions *options,
		       GError **error)
{
	return mo_oauth_client_post(app,
				    app->token_endpoint,
				    grant_pairs,
				    mo_oauth_parse_token_cb,
				    options,
				    error);
}

MoToken *
mo_oauth_refresh(const MoApp *app,
		 const gchar *refresh_token,
		 const MoHttpOptions *options,
		 GError **error)
{
	const gchar *grant[] = {"grant_type",
				"refresh_token",
				"refresh_token",
				refresh_token,
				NULL};
	MoHttpOptions http = *options;

	g_return_val_if_fail(error == NULL || *error == NULL, NULL);

	if (refresh_token == NULL || refresh_token[0] == '\0') {
		g_set_error(error, MO_ERROR, MO_ERROR_INVALID_DATA, _("There is no refresh token"));
		return NULL;
	}
	/* a token file's own CA and proxy (sasl-xoauth2's keys) win over the defaults */
	if (app->ca_bundle_file != NULL)
		http.ca_file = app->ca_bundle_file;
	if (app->ca_certs_dir != NULL)
		http.ca_dir = app->ca_certs_dir;
	if (app->proxy != NULL)
		http.proxy = app->proxy;
	return mo_oauth_token_request(app, grant, &http, error);
}
