/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "mo-error.h"

#include <string.h>

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
	/* on a refresh: the grant no longer covers its scopes; only a new sign-in helps */
	case MO_OAUTH_ERROR_INVALID_SCOPE:
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
	/* a wrong client ID or secret: a new sign-in cannot fix that, a new app can */
	if (g_error_matches(error, MO_OAUTH_ERROR, MO_OAUTH_ERROR_INVALID_CLIENT) ||
	    g_error_matches(error, MO_OAUTH_ERROR, MO_OAUTH_ERROR_UNAUTHORIZED_CLIENT))
		return MO_EXIT_CLIENT;
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

static gboolean
mo_text_unichar_is_safe(gunichar uc)
{
	switch (g_unichar_type(uc)) {
	case G_UNICODE_CONTROL:
	case G_UNICODE_FORMAT:
	case G_UNICODE_UNASSIGNED:
	case G_UNICODE_SURROGATE:
	case G_UNICODE_LINE_SEPARATOR:
	case G_UNICODE_PARAGRAPH_SEPARATOR:
		return FALSE;
	default:
		return TRUE;
	}
}

/* The length of the character at @p (of at most @left bytes), and whether a terminal may be
 * shown it as it is: printable ASCII, or well-formed UTF-8 of a printable character. Control
 * characters (C0, DEL, C1), format characters such as U+202E and line separators would start
 * escape sequences, forge lines or reorder what is shown; a stray byte may start an 8-bit C1
 * sequence on a terminal that is not in UTF-8 mode. */
static gsize
mo_text_next_char(const gchar *p, gsize left, gboolean *safe)
{
	guchar c = (guchar)*p;
	gunichar uc;

	if (c < 0x80) {
		*safe = c >= 0x20 && c != 0x7f;
		return 1;
	}
	uc = g_utf8_get_char_validated(p, (gssize)left);
	if (uc == (gunichar)-1 || uc == (gunichar)-2) {
		*safe = FALSE;
		return 1;
	}
	*safe = mo_text_unichar_is_safe(uc);
	return (gsize)(g_utf8_next_char(p) - p);
}

/**
 * mo_text_escape:
 * @text: (nullable): text from outside: a provider, a file, the keyring, the command line
 *
 * The one way untrusted text reaches a terminal or a log: every byte of a character that is
 * not printable, or not UTF-8 at all, is shown as `\xNN`; everything else, international
 * letters included, stays as it is.
 *
 * Returns: (transfer full) (nullable): the escaped text, or %NULL when @text is %NULL
 */
gchar *
mo_text_escape(const gchar *text)
{
	GString *out;
	gsize len;

	if (text == NULL)
		return NULL;
	len = strlen(text);
	out = g_string_sized_new(len);
	for (gsize i = 0; i < len;) {
		gboolean safe = FALSE;
		gsize n = mo_text_next_char(text + i, len - i, &safe);

		for (gsize j = 0; j < n; j++) {
			if (safe)
				g_string_append_c(out, text[i + j]);
			else
				g_string_append_printf(out, "\\x%02x", (guchar)text[i + j]);
		}
		i += n;
	}
	return g_string_free(out, FALSE);
}

/**
 * mo_text_is_vschar:
 * @text: a token
 *
 * Whether @text holds only what RFC 6749 allows in tokens (VSCHAR, 0x20–0x7E): no control
 * character, DEL, or byte of 0x80 and more. A token is printed by “mailoauth token”, written
 * into SASL messages and HTTP headers, so anything else would forge lines or reach a terminal.
 *
 * Returns: %TRUE when @text is fit to be a token
 */
gboolean
mo_text_is_vschar(const gchar *text)
{
	g_return_val_if_fail(text != NULL, FALSE);

	for (const gchar *p = text; *p != '\0'; p++) {
		if ((guchar)*p < 0x20 || (guchar)*p > 0x7e)
			return FALSE;
	}
	return TRUE;
}

/* In place, for fixed buffers: what mo_text_escape() would escape becomes '?', byte by byte.
 * Prefer mo_text_escape(), which keeps what the bytes were. */
void
mo_text_sanitize(gchar *text)
{
	gsize len = text != NULL ? strlen(text) : 0;

	for (gsize i = 0; i < len;) {
		gboolean safe = FALSE;
		gsize n = mo_text_next_char(text + i, len - i, &safe);

		if (!safe)
			memset(text + i, '?', n);
		i += n;
	}
}
