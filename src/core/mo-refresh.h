/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "mo-app.h"
#include "mo-http.h"
#include "mo-token.h"

G_BEGIN_DECLS

/* Where a token lives: the keyring (CLI) or a token file (SASL plugin, export). The refresh
 * logic below is the same for both. */
typedef struct _MoTokenStore MoTokenStore;
struct _MoTokenStore {
	const gchar *account;	/* for messages */
	const gchar *lock_path; /* one refresh at a time per account, across processes */
	MoToken *(*load)(MoTokenStore *self, GError **error);
	MoApp *(*load_app)(MoTokenStore *self, GError **error);
	gboolean (*save)(MoTokenStore *self, const MoToken *token, GError **error);
};

typedef struct {
	gint64 margin;	/* seconds of validity below which the token is refreshed */
	gboolean force; /* refresh even when fresh */
	MoHttpOptions http;
	/* told when a refresh failed for now but the stored token, still valid, is returned */
	void (*warn)(const gchar *message, gpointer user_data);
	gpointer warn_data;
} MoRefreshOptions;

/* A token with at least this many seconds left is still handed out when a refresh fails
 * for a passing reason (network, 5xx): better than failing the mail program now. */
#define MO_REFRESH_KEEP_MIN_LEFT 60

MoToken *mo_refresh_get_token(MoTokenStore *store,
			      const MoRefreshOptions *options,
			      gboolean *refreshed,
			      GError **error);

G_END_DECLS
