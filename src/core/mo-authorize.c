/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <glib/gi18n-lib.h>
#include <string.h>

#include "mo-authorize.h"

/* Longest error_description of a redirect kept for messages. */
#define MO_REDIRECT_ERROR_MAX 512
#include "mo-error.h"
#include "mo-json.h"
#include "mo-oauth.h"
#include "mo-pkce.h"
#include "mo-secure.h"

#define MO_PKCE_VERIFIER_BYTES 32 /* 43 characters, the RFC 7636 minimum */
#define MO_STATE_BYTES	       16

void
mo_auth_request_free(MoAuthRequest *request)
{
	if (request == NULL)
		return;
	g_free(request->url);
	g_free(request->redirect_uri);
	g_free(request->state);
	mo_secure_free(request->verifier);
	g_free(request);
}

/* Parameters a provider needs beyond RFC 6749 to hand out a refresh token. */
static void
mo_auth_request_add_provider_params(const MoApp *app, GPtrArray *params)
{
	switch (app->provider) {
	case MO_PROVIDER_GOOGLE:
		/* without both, Google issues no refresh token on a second authorization */
		g_ptr_array_add(params, "access_type");
		g_ptr_array_add(params, "offline");
		g_ptr_array_add(params, "prompt");
		g_ptr_array_add(params, "consent");
		break;
	case MO_PROVIDER_CUSTOM:
		/* OpenID Connect servers grant offline_access only with prompt=consent */
		g_ptr_array_add(params, "prompt");
		g_ptr_array_add(params, "consent");
		break;
	case MO_PROVIDER_MICROSOFT:
	default:
		break;
	}
}

MoAuthRequest *
mo_auth_request_new(const MoApp *app,
		    const gchar *scope,
		    const gchar *redirect_uri,
		    const gchar *login_hint,
		    GError **error)
{
	g_autoptr(MoAuthRequest) request = g_new0(MoAuthRequest, 1);
	g_autoptr(GPtrArray) params = g_ptr_array_new();
	g_autofree gchar *challenge = NULL;
	g_autofree gchar *query = NULL;

	g_return_val_if_fail(error == NULL || *error == NULL, NULL);

	if (app->authorize_endpoint == NULL) {
		g_set_error(error,
			    MO_ERROR,
			    MO_ERROR_INVALID_ARGUMENT,
			    _("App %s has no authorization endpoint; give --authorize-endpoint or "
			      "--issuer to “mailoauth app add”"),
			    app->name);
		return NULL;
	}
	if (!mo_url_check_endpoint(app->authorize_endpoint, error))
		return NULL;
	request->verifier = mo_random_urlsafe(MO_PKCE_VERIFIER_BYTES, error);
	if (request->verifier == NULL)
		return NULL;
	request->state = mo_random_urlsafe(MO_STATE_BYTES, error);
	if (request->state == NULL)
		return NULL;
	request->redirect_uri = g_strdup(redirect_uri);
	challenge = mo_pkce_challenge_s256(request->verifier);

	g_ptr_array_add(params, "response_type");
	g_ptr_array_add(params, "code");
	g_ptr_array_add(params, "client_id");
	g_ptr_array_add(params, app->client_id);
	g_ptr_array_add(params, "redirect_uri");
	g_ptr_array_add(params, (gpointer)redirect_uri);
	g_ptr_array_add(params, "scope");
	g_ptr_array_add(params, (gpointer)scope);
	g_ptr_array_add(params, "state");
	g_ptr_array_add(params, request->state);
	g_ptr_array_add(params, "code_challenge");
	g_ptr_array_add(params, challenge);
	g_ptr_array_add(params, "code_challenge_method");
	g_ptr_array_add(params, "S256");
	if (login_hint != NULL) {
		g_ptr_array_add(params, "login_hint");
		g_ptr_array_add(params, (gpointer)login_hint);
	}
	mo_auth_request_add_provider_params(app, params);
	g_ptr_array_add(params, NULL);
	query = mo_http_form_encode((const gchar *const *)params->pdata);
	request->url = g_strconcat(app->authorize_endpoint,
				   strchr(app->authorize_endpoint, '?') != NULL ? "&" : "?",
				   query,
				   NULL);
	return g_steal_pointer(&request);
}

void
mo_redirect_free(MoRedirect *redirect)
{
	if (redirect == NULL)
		return;
	mo_secure_free(redirect->code);
	g_free(redirect->state);
	g_free(redirect->iss);
	g_free(redirect->error);
	g_free(redirect->error_description);
	g_free(redirect);
}

static gchar **
mo_redirect_slot(MoRedirect *redirect, const gchar *name)
{
	if (g_strcmp0(name, "code") == 0)
		return &redirect->code;
	if (g_strcmp0(name, "state") == 0)
		return &redirect->state;
	if (g_strcmp0(name, "iss") == 0)
		return &redirect->iss;
	if (g_strcmp0(name, "error") == 0)
		return &redirect->error;
	if (g_strcmp0(name, "error_description") == 0)
		return &redirect->error_description;
	return NULL;
}

/* The query of the redirect (without '?'). A parameter given twice is refused (RFC 6749
 * §3.1): a second code or state could be an injection. Unknown parameters are ignored. */
MoRedirect *
mo_redirect_parse_query(const gchar *query, GError **error)
{
	g_autoptr(MoRedirect) redirect = g_new0(MoRedirect, 1);
	g_autoptr(GError) error_local = NULL;
	GUriParamsIter iter;
	gchar *name = NULL;
	gchar *value = NULL;

	g_return_val_if_fail(error == NULL || *error == NULL, NULL);

	if (query == NULL || strlen(query) > MO_REDIRECT_MAX_LEN) {
		g_set_error(error,
			    MO_ERROR,
			    MO_ERROR_INVALID_ARGUMENT,
			    _("The redirect is empty or too long"));
		return NULL;
	}
	g_uri_params_iter_init(&iter, query, -1, "&", G_URI_PARAMS_WWW_FORM);
	while (g_uri_params_iter_next(&iter, &name, &value, &error_local)) {
		gchar **slot = mo_redirect_slot(redirect, name);
		if (slot != NULL && *slot != NULL) {
			g_set_error(error,
				    MO_ERROR,
				    MO_ERROR_INVALID_ARGUMENT,
				    _("The redirect has “%s” more than once"),
				    name);
			g_free(name);
			mo_secure_free(value);
			return NULL;
		}
		if (slot != NULL)
			*slot = g_steal_pointer(&value);
		g_free(name);
		mo_secure_free(value);
	}
	if (error_local != NULL) {
		g_set_error(error,
			    MO_ERROR,
			    MO_ERROR_INVALID_ARGUMENT,
			    _("The redirect cannot be read: %s"),
			    error_local->message);
		return NULL;
	}
	/* these may end up in messages */
	mo_text_sanitize(redirect->iss);
	mo_text_sanitize(redirect->error);
	mo_text_sanitize(redirect->error_description);
	/* as the token endpoint's: a line, not a page */
	if (redirect->error_description != NULL &&
	    strlen(redirect->error_description) > MO_REDIRECT_ERROR_MAX) {
		const gchar *end = NULL;
		/* on a character boundary */
		g_utf8_validate(redirect->error_description, MO_REDIRECT_ERROR_MAX, &end);
		*(gchar *)end = '\0';
	}
	return g_steal_pointer(&redirect);
}

static gboolean
mo_text_is_token_chars(const gchar *text)
{
	for (const gchar *p = text; *p != '\0'; p++) {
		if ((guchar)*p <= 0x20 || (guchar)*p >= 0x7f)
			return FALSE;
	}
	return TRUE;
}

/* For the paste flow: the whole redirected URL, its query, or the bare code. A bare code
 * carries no state, so it cannot be checked; PKCE still binds it to this request. */
MoRedirect *
mo_redirect_parse_pasted(const gchar *text, GError **error)
{
	mo_autosecret gchar *line = g_strstrip(g_strdup(text != NULL ? text : ""));
	g_autoptr(MoRedirect) redirect = NULL;
	const gchar *query = strchr(line, '?');
	gchar *fragment;

	if (line[0] == '\0' || strlen(line) > MO_REDIRECT_MAX_LEN) {
		g_set_error(error,
			    MO_ERROR,
			    MO_ERROR_INVALID_ARGUMENT,
			    _("Nothing usable was pasted: paste the whole address the browser "
			      "was sent to (it starts with the redirect URI and has code=…)"));
		return NULL;
	}
	if (query == NULL && strstr(line, "://") != NULL) {
		g_set_error(
			error,
			MO_ERROR,
			MO_ERROR_INVALID_ARGUMENT,
			_("The pasted address has no code=… in it: paste the address the browser "
			  "was sent to after signing in"));
		return NULL;
	}
	if (query != NULL || strchr(line, '=') != NULL) {
		query = query != NULL ? query + 1 : line;
		fragment = strchr(query, '#');
		if (fragment != NULL)
			*fragment = '\0';
		return mo_redirect_parse_query(query, error);
	}
	if (!mo_text_is_token_chars(line)) {
		g_set_error(error,
			    MO_ERROR,
			    MO_ERROR_INVALID_ARGUMENT,
			    _("What was pasted is neither an address nor a code"));
		return NULL;
	}
	redirect = g_new0(MoRedirect, 1);
	redirect->code = g_strdup(line);
	redirect->bare_code = TRUE;
	mo_secure_wipe(line, strlen(line));
	return g_steal_pointer(&redirect);
}

/* State must match, except for a bare pasted code, which has none to compare. */
gboolean
mo_auth_request_check_redirect(const MoAuthRequest *request,
			       const MoApp *app,
			       const MoRedirect *redirect,
			       GError **error)
{
	if (!redirect->bare_code && !mo_constant_time_equal(redirect->state, request->state)) {
		g_set_error(error,
			    MO_ERROR,
			    MO_ERROR_INVALID_ARGUMENT,
			    _("The redirect does not belong to this sign-in (its state differs); "
			      "ignored"));
		return FALSE;
	}
	/* RFC 9207: a response from another issuer is a mix-up attack */
	if (redirect->iss != NULL && app->issuer != NULL &&
	    g_strcmp0(redirect->iss, app->issuer) != 0) {
		g_set_error(error,
			    MO_ERROR,
			    MO_ERROR_INVALID_ARGUMENT,
			    _("The redirect comes from issuer %s, not %s; ignored"),
			    redirect->iss,
			    app->issuer);
		return FALSE;
	}
	if (redirect->error != NULL) {
		g_set_error(error,
			    MO_OAUTH_ERROR,
			    mo_oauth_error_from_string(redirect->error),
			    _("The provider refused the authorization: %s%s%s"),
			    redirect->error,
			    redirect->error_description != NULL ? ": " : "",
			    redirect->error_description != NULL ? redirect->error_description : "");
		return FALSE;
	}
	if (redirect->code == NULL || redirect->code[0] == '\0') {
		g_set_error(error,
			    MO_ERROR,
			    MO_ERROR_INVALID_ARGUMENT,
			    _("The redirect carries no authorization code"));
		return FALSE;
	}
	return TRUE;
}

MoToken *
mo_auth_request_exchange(const MoAuthRequest *request,
			 const MoApp *app,
			 const gchar *code,
			 const MoHttpOptions *options,
			 GError **error)
{
	const gchar *grant[] = {"grant_type",
				"authorization_code",
				"code",
				code,
				"redirect_uri",
				request->redirect_uri,
				"code_verifier",
				request->verifier,
				NULL};

	g_return_val_if_fail(error == NULL || *error == NULL, NULL);
	return mo_oauth_token_request(app, grant, options, error);
}
