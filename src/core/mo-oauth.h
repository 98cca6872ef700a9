/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "mo-app.h"
#include "mo-http.h"
#include "mo-token.h"

G_BEGIN_DECLS

/* Transient failures are retried within one call: this many attempts in all, waiting
 * 1 s, then 2 s, ... or what Retry-After says, up to MO_OAUTH_MAX_RETRY_WAIT. */
#define MO_OAUTH_MAX_ATTEMPTS	3
#define MO_OAUTH_MAX_RETRY_WAIT 10

void mo_oauth_set_status_error(guint status,
			       const gchar *body,
			       gsize body_len,
			       const gchar *endpoint,
			       GError **error);
MoToken *mo_oauth_parse_token_response(guint status,
				       const gchar *body,
				       gsize body_len,
				       gint64 now,
				       GError **error);
gboolean
mo_oauth_parse_error_response(guint status, const gchar *body, gsize body_len, GError **error);
typedef gpointer (*MoOAuthParseFunc)(const MoHttpResponse *response, GError **error);

gpointer mo_oauth_client_post(const MoApp *app,
			      const gchar *url,
			      const gchar *const *params,
			      MoOAuthParseFunc parse,
			      const MoHttpOptions *options,
			      GError **error);
MoToken *mo_oauth_token_request(const MoApp *app,
				const gchar *const *grant_pairs,
				const MoHttpOptions *options,
				GError **error);
MoToken *mo_oauth_refresh(const MoApp *app,
			  const gchar *refresh_token,
			  const MoHttpOptions *options,
			  GError **error);

G_END_DECLS
