/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Local conditions: the keyring, files, the network, our own data. */
#define MO_ERROR (mo_error_quark())
typedef enum {
	MO_ERROR_FAILED,	      /* anything not listed below */
	MO_ERROR_NOT_FOUND,	      /* no such account or app */
	MO_ERROR_KEYRING_LOCKED,      /* the collection is locked and was not unlocked */
	MO_ERROR_KEYRING_UNAVAILABLE, /* no D-Bus session, no Secret Service, timeout */
	MO_ERROR_INVALID_DATA,	      /* a stored item or a token file cannot be used */
	MO_ERROR_TRANSIENT,	      /* network error, timeout, HTTP 408/429/5xx */
	MO_ERROR_PROTOCOL,	      /* the provider answered something we cannot use */
	MO_ERROR_INVALID_ARGUMENT,    /* the user's input is wrong */
	MO_ERROR_CANCELLED,	      /* the user interrupted (Ctrl-C) */
} MoErrorCode;

/* What the OAuth2 server said (RFC 6749 §5.2, RFC 8628 §3.5). */
#define MO_OAUTH_ERROR (mo_oauth_error_quark())
typedef enum {
	MO_OAUTH_ERROR_OTHER,
	MO_OAUTH_ERROR_INVALID_REQUEST,
	MO_OAUTH_ERROR_INVALID_CLIENT,
	MO_OAUTH_ERROR_INVALID_GRANT,
	MO_OAUTH_ERROR_UNAUTHORIZED_CLIENT,
	MO_OAUTH_ERROR_UNSUPPORTED_GRANT_TYPE,
	MO_OAUTH_ERROR_INVALID_SCOPE,
	MO_OAUTH_ERROR_ACCESS_DENIED,
	MO_OAUTH_ERROR_EXPIRED_TOKEN,
	MO_OAUTH_ERROR_AUTHORIZATION_PENDING,
	MO_OAUTH_ERROR_SLOW_DOWN,
	MO_OAUTH_ERROR_INTERACTION_REQUIRED,
} MoOAuthErrorCode;

/* Exit codes of the mailoauth commands; documented in mailoauth(1). */
typedef enum {
	MO_EXIT_OK = 0,
	MO_EXIT_FAILURE = 1,
	MO_EXIT_USAGE = 2,
	MO_EXIT_NOT_FOUND = 3,
	MO_EXIT_REAUTHORIZE = 4,
	MO_EXIT_KEYRING = 5,
	MO_EXIT_TEMPFAIL = 6,
	MO_EXIT_CLIENT = 7,	 /* the provider refused the app's client: its ID or secret */
	MO_EXIT_CANCELLED = 130, /* as a shell reports SIGINT */
} MoExitCode;

GQuark mo_error_quark(void);
GQuark mo_oauth_error_quark(void);

MoOAuthErrorCode mo_oauth_error_from_string(const gchar *code);
const gchar *mo_oauth_error_to_string(MoOAuthErrorCode code);
gboolean mo_error_needs_reauthorization(const GError *error);
MoExitCode mo_error_to_exit_code(const GError *error);
void mo_error_set_protocol(GError **error, GError *cause);
gchar *mo_text_escape(const gchar *text);
gboolean mo_text_is_vschar(const gchar *text);
void mo_text_sanitize(gchar *text);

G_END_DECLS
