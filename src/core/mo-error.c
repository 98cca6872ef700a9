/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "mo-error.h"

GQuark
mo_error_quark(void)
{
	return g_quark_from_static_string("mo-error-quark");
}

GQuark
mo_oauth_error_quark(void)
{
	return g_quark_from_static_string("mo-oauth-error-quark");
}
static const struct {
	MoOAuthErrorCode code;
	const gchar *name;
} oauth_error_names[] = {
	{MO_OAUTH_ERROR_INVALID_REQUEST, "invalid_request"},
	{MO_OAUTH_ERROR_INVALID_CLIENT, "invalid_client"},
	{MO_OAUTH_ERROR_INVALID_GRANT, "invalid_grant"},
	{MO_OAUTH_ERROR_UNAUTHORIZED_CLIENT, "unauthorized_client"},
	{MO_OAUTH_ERROR_UNSUPPORTED_GRANT_TYPE, "unsupported_grant_type"},
	{MO_OAUTH_ERROR_INVALID_SCOPE, "invalid_scope"},
	{MO_OAUTH_ERROR_ACCESS_DENIED, "access_denied"},
	{MO_OAUTH_ERROR_EXPIRED_TOKEN, "expired_token"},
	{MO_OAUTH_ERROR_AUTHORIZATION_PENDING, "authorization_pending"},
	{MO_OAUTH_ERROR_SLOW_DOWN, "slow_down"},
	{MO_OAUTH_ERROR_INTERACTION_REQUIRED, "interaction_required"},
};

MoOAuthErrorCode
mo_oauth_error_from_string(const gchar *code)
{
	if (code == NULL)
		return MO_OAUTH_ERROR_OTHER;
	for (gsize i = 0; i < G_N_ELEMENTS(oauth_error_names); i++) {
		if (g_strcmp0(oauth_error_names[i].name, code) == 0)
			return oauth_error_names[i].code;
	}
	return MO_OAUTH_ERROR_OTHER;
}

const gchar *
mo_oauth_error_to_string(MoOAuthErrorCode code)
{
	for (gsize i = 0; i < G_N_ELEMENTS(oauth_error_names); i++) {
		if (oauth_error_names[i].code == code)
			return oauth_error_names[i].name;
	}
	return "error";
}

/* invalid_grant: the refresh token is revoked, expired or was issued to another client;
 * invalid_client/unauthorized_client: the app registration changed. Only a new
 * authorization helps; retrying never does. interaction_required is Microsoft's
 * "conditional access wants the user" answer (AADSTS50076 and friends). */
gboolean
mo_error_needs_reauthorization(const GError *error)
{
	if (error == NULL || error->domain != MO_OAUTH_ERROR)
		return FALSE;
	switch (error->code) {
	case MO_OAUTH_ERROR_INVALID_GRANT:
	case MO_OAUTH_ERROR_INVALID_CLIENT:
	case MO_OAUTH_ERROR_UNAUTHORIZED_CLIENT:
	case MO_OAUTH_ERROR_INTERACTION_REQUIRED:
	case MO_OAUTH_ERROR_ACCESS_DENIED:
	case MO_OAUTH_ERROR_EXPIRED_TOKEN:
		return TRUE;
	default:
		return FALSE;
	}
}

/* The one table from errors to exit codes. */
MoExitCode
mo_error_to_exit_code(const GError *error)
{
	if (error == NULL)
		return MO_EXIT_OK;
	if (error->domain == G_OPTION_ERROR)
		return MO_EXIT_USAGE;
	if (error->domain == MO_OAUTH_ERROR)
		return mo_error_needs_reauthorization(error) ? MO_EXIT_REAUTHORIZE
							     : MO_EXIT_FAILURE;
	if (error->domain != MO_ERROR)
		return MO_EXIT_FAILURE;
	switch (error->code) {
	case MO_ERROR_NOT_FOUND:
		return MO_EXIT_NOT_FOUND;
	case MO_ERROR_KEYRING_LOCKED:
	case MO_ERROR_KEYRING_UNAVAILABLE:
		return MO_EXIT_KEYRING;
	case MO_ERROR_TRANSIENT:
		return MO_EXIT_TEMPFAIL;
	case MO_ERROR_INVALID_ARGUMENT:
		return MO_EXIT_USAGE;
	case MO_ERROR_CANCELLED:
		return MO_EXIT_CANCELLED;
	default:
		return MO_EXIT_FAILURE;
	}
}

/* A provider's answer we could not use: whatever the parser called it (bad JSON, a wrong
 * type, an insecure URL), for the user it is the provider's fault, not their input's or
 * their data's. Takes @cause. */
void
mo_error_set_protocol(GError **error, GError *cause)
{
	g_set_error_literal(error, MO_ERROR, MO_ERROR_PROTOCOL, cause->message);
	g_error_free(cause);
}

/* Text from outside (a provider, a browser, a server) reaches a terminal or a log: no control
 * characters, so no escape sequences and no forged lines. */
void
mo_text_sanitize(gchar *text)
{
	for (gchar *p = text; p != NULL && *p != '\0'; p++) {
		if ((guchar)*p < 0x20 || (guchar)*p == 0x7f)
			*p = '?';
	}
}
