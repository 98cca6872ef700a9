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
	/* where a refresh's answer is kept until the store has it (mo-journal.h), best first;
	 * NULL-terminated, nullable */
	const gchar *const *journal_paths;
	MoToken *(*load)(MoTokenStore *self, GError **error);
	MoApp *(*load_app)(MoTokenStore *self, GError **error);
	gboolean (*save)(MoTokenStore *self, const MoToken *token, GError **error);
	/* optional, under the lock before the token is read: what killed writers left behind
	 * (temporary files) is taken back or removed */
	void (*tidy)(MoTokenStore *self);
	/* optional, after a load: the refresh margin this token asks for (a token file's
	 * refresh_window), else @fallback */
	gint64 (*margin)(MoTokenStore *self, gint64 fallback);
	/* optional, under the lock: the provider refused the grant; the store remembers it
	 * (best effort) so that "status" can say a new sign-in is needed */
	void (*refused)(MoTokenStore *self, const GError *error);
	void (*free)(MoTokenStore *self);
};

void mo_token_store_free(MoTokenStore *store);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(MoTokenStore, mo_token_store_free)

G_END_DECLS
