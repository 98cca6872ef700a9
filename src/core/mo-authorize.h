/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "mo-app.h"
#include "mo-http.h"
#include "mo-token.h"

G_BEGIN_DECLS

/* Upper bounds on what we accept from a browser or a pasted line. */
#define MO_REDIRECT_MAX_LEN 8192

/* One authorization-code request: PKCE S256 and state are always used. */
typedef struct {
	gchar *url;	     /* to open in the browser */
	gchar *redirect_uri; /* exactly as sent; the code exchange repeats it */
	gchar *state;
	gchar *verifier; /* secret */
} MoAuthRequest;

/* What came back to the redirect URI. */
typedef struct {
	gchar *code; /* secret */
	gchar *state;
	gchar *iss;
	gchar *error;
	gchar *error_description;
	gboolean bare_code; /* pasted without the URL: no state to check */
} MoRedirect;

MoAuthRequest *mo_auth_request_new(const MoApp *app,
				   const gchar *scope,
				   const gchar *redirect_uri,
				   const gchar *login_hint,
				   GError **error);
void mo_auth_request_free(MoAuthRequest *request);
MoRedirect *mo_redirect_parse_query(const gchar *query, GError **error);
MoRedirect *mo_redirect_parse_pasted(const gchar *text, GError **error);
void mo_redirect_free(MoRedirect *redirect);
gboolean mo_auth_request_check_redirect(const MoAuthRequest *request,
					const MoApp *app,
					const MoRedirect *redirect,
					GError **error);
MoToken *mo_auth_request_exchange(const MoAuthRequest *request,
				  const MoApp *app,
				  const gchar *code,
				  const MoHttpOptions *options,
				  GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(MoAuthRequest, mo_auth_request_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(MoRedirect, mo_redirect_free)

/* RFC 8628 device authorization. */
#define MO_DEVICE_DEFAULT_INTERVAL 5
#define MO_DEVICE_SLOW_DOWN_STEP   5

typedef struct {
	gchar *device_code; /* secret */
	gchar *user_code;
	gchar *verification_uri;
	gchar *verification_uri_complete; /* NULL when not sent */
	gint64 expires_in;
	gint64 interval;
} MoDeviceAuth;

/* Returns TRUE when the user asked to stop (Ctrl-C). */
typedef gboolean (*MoCancelFunc)(gpointer user_data);

MoDeviceAuth *
mo_device_parse_response(guint status, const gchar *body, gsize body_len, GError **error);
MoDeviceAuth *
mo_device_start(const MoApp *app, const gchar *scope, const MoHttpOptions *options, GError **error);
MoToken *mo_device_wait(const MoApp *app,
			const MoDeviceAuth *device,
			const MoHttpOptions *options,
			MoCancelFunc cancelled,
			gpointer user_data,
			GError **error);
void mo_device_auth_free(MoDeviceAuth *device);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(MoDeviceAuth, mo_device_auth_free)

gboolean mo_discover_endpoints(MoApp *app,
			       const gchar *issuer,
			       const MoHttpOptions *options,
			       GError **error);

G_END_DECLS
