/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

#include "mo-app.h"
#include "mo-token-store.h"
#include "mo-token.h"

G_BEGIN_DECLS

/* Item kinds, each a schema of its own: org.mailoauth.Account with attribute "account",
 * org.mailoauth.App with attribute "app". */
typedef enum {
	MO_KEYRING_ACCOUNT,
	MO_KEYRING_APP,
} MoKeyringKind;

typedef struct _MoKeyring MoKeyring;

typedef struct {
	gchar *name;
	gboolean locked;
	gchar *json; /* NULL when locked; a secret */
} MoKeyringEntry;

MoKeyring *mo_keyring_open(guint timeout_seconds, GError **error);
void mo_keyring_free(MoKeyring *keyring);
gchar *mo_keyring_lookup(MoKeyring *keyring, MoKeyringKind kind, const gchar *name, GError **error);
gboolean mo_keyring_store(MoKeyring *keyring,
			  MoKeyringKind kind,
			  const gchar *name,
			  const gchar *json,
			  GError **error);
gboolean
mo_keyring_delete(MoKeyring *keyring, MoKeyringKind kind, const gchar *name, GError **error);
GPtrArray *mo_keyring_list(MoKeyring *keyring, MoKeyringKind kind, GError **error);
gboolean mo_keyring_is_locked(MoKeyring *keyring, GError **error);
void mo_keyring_entry_free(MoKeyringEntry *entry);

MoAccount *mo_keyring_load_account(MoKeyring *keyring, const gchar *name, GError **error);
gboolean mo_keyring_save_account(MoKeyring *keyring, const MoAccount *account, GError **error);
MoApp *mo_keyring_load_app(MoKeyring *keyring, const gchar *name, GError **error);
gboolean mo_keyring_save_app(MoKeyring *keyring, const MoApp *app, GError **error);

MoTokenStore *mo_keyring_token_store_new(MoKeyring *keyring, const gchar *account);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(MoKeyring, mo_keyring_free)

G_END_DECLS
