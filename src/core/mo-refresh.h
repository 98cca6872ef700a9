/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "mo-http.h"
#include "mo-token-store.h"

G_BEGIN_DECLS

typedef struct {
	gint64 margin;	/* seconds of validity below which the token is refreshed */
	gboolean force; /* refresh even when fresh */
	MoHttpOptions http;
	/* told when a refresh failed for now but the stored token, still valid, is returned */
	void (*warn)(const gchar *message, gpointer user_data);
	gpointer warn_data;
	/* called once a request to the provider is likely, before the lock is waited for:
	 * the CLI starts loading libcurl there (nothing else needs it) */
	void (*before_request)(void);
} MoRefreshOptions;

/* A token with at least this many seconds left is still handed out when a refresh fails
 * for a passing reason (network, 5xx): better than failing the mail program now. */
#define MO_REFRESH_KEEP_MIN_LEFT 60

MoToken *mo_refresh_get_token(MoTokenStore *store,
			      const MoRefreshOptions *options,
			      gboolean *refreshed,
			      GError **error);

G_END_DECLS
