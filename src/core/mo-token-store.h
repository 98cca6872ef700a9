/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "mo-app.h"
#include "mo-token.h"

G_BEGIN_DECLS

/* Where a token lives: the keyring (CLI), a sasl-xoauth2 token file (SASL plugin, the
 * export's timer). The refresh logic (mo-refresh.h) is the same for all of them. */
typedef struct _MoTokenStore MoTokenStore;
struct _MoTokenStore {
	const gchar *account;	/* for messages */
	const gchar *lock_path; /* one refresh at a time per account, across processes */
	MoToken *(*load)(MoTokenStore *self, GError **error);
	MoApp *(*load_app)(MoTokenStore *self, GError **error);
	gboolean (*save)(MoTokenStore *self, const MoToken *token, GError **error);
	void (*free)(MoTokenStore *self);
};

void mo_token_store_free(MoTokenStore *store);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(MoTokenStore, mo_token_store_free)

G_END_DECLS
