/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <glib/gi18n-lib.h>

#include "mo-error.h"
#include "mo-journal.h"
#include "mo-keyring.h"
#include "mo-lock.h"
#include "mo-secure.h"

MoAccount *
mo_keyring_load_account(MoKeyring *keyring, const gchar *name, GError **error)
{
	mo_autosecret gchar *json = mo_keyring_lookup(keyring, MO_KEYRING_ACCOUNT, name, error);

	if (json == NULL)
		return NULL;
	return mo_account_from_json(json, name, error);
}

gboolean
mo_keyring_save_account(MoKeyring *keyring, const MoAccount *account, GError **error)
{
	mo_autosecret gchar *json = mo_account_to_json(account);
	return mo_keyring_store(keyring, MO_KEYRING_ACCOUNT, account->name, json, error);
}

MoApp *
mo_keyring_load_app(MoKeyring *keyring, const gchar *name, GError **error)
{
	mo_autosecret gchar *json = mo_keyring_lookup(keyring, MO_KEYRING_APP, name, error);

	if (json == NULL)
		return NULL;
	return mo_app_from_json(json, name, error);
}

gboolean
mo_keyring_save_app(MoKeyring *keyring, const MoApp *app, GError **error)
{
	mo_autosecret gchar *json = mo_app_to_json(app);
	return mo_keyring_store(keyring, MO_KEYRING_APP, app->name, json, error);
}

/* The keyring as a MoTokenStore: the account item is re-read on every load (another process
 * may have refreshed it) and written back whole on save. */
typedef struct {
	MoTokenStore parent;
	MoKeyring *keyring;
	gchar *account_name;
	gchar *lock_path;
	gchar *journal_paths[2]; /* beside the lock, on the runtime directory's tmpfs */
	MoAccount *account;	 /* as last loaded */
} MoKeyringTokenStore;

static MoToken *
mo_keyring_token_store_load(MoTokenStore *store, GError **error)
{
	MoKeyringTokenStore *self = (MoKeyringTokenStore *)store;
	MoAccount *account = mo_keyring_load_account(self->keyring, self->account_name, error);

	if (account == NULL)
		return NULL;
	g_clear_pointer(&self->account, mo_account_free);
	self->account = account;
	return mo_token_copy(account->token);
}

static MoApp *
mo_keyring_token_store_load_app(MoTokenStore *store, GError **error)
{
	MoKeyringTokenStore *self = (MoKeyringTokenStore *)store;

	if (self->account->app == NULL) {
		g_set_error(error,
			    MO_ERROR,
			    MO_ERROR_INVALID_DATA,
			    _("Account %s names no app to refresh its token with; import it "
			      "again with “mailoauth import FILE --account %s --app APP”"),
			    self->account_name,
			    self->account_name);
		return NULL;
	}
	return mo_keyring_load_app(self->keyring, self->account->app, error);
}

static gboolean
mo_keyring_token_store_save(MoTokenStore *store, const MoToken *token, GError **error)
{
	MoKeyringTokenStore *self = (MoKeyringTokenStore *)store;

	mo_token_free(self->account->token);
	self->account->token = mo_token_copy(token);
	/* a token that refreshed is a grant the provider accepts */
	self->account->needs_sign_in = FALSE;
	return mo_keyring_save_account(self->keyring, self->account, error);
}

/* The account item says the grant was refused, for "status" and "doctor"; a new sign-in
 * replaces the item and with it the mark. Best effort: the refresh has failed already. */
static void
mo_keyring_token_store_refused(MoTokenStore *store, const GError *error)
{
	MoKeyringTokenStore *self = (MoKeyringTokenStore *)store;
	g_autoptr(GError) error_local = NULL;

	if (self->account == NULL || self->account->needs_sign_in)
		return;
	self->account->needs_sign_in = TRUE;
	if (!mo_keyring_save_account(self->keyring, self->account, &error_local))
		g_debug("cannot mark %s as needing a sign-in: %s",
			self->account_name,
			error_local->message);
}

static void mo_keyring_token_store_free(MoTokenStore *store);

MoTokenStore *
mo_keyring_token_store_new(MoKeyring *keyring, const gchar *account)
{
	MoKeyringTokenStore *self = g_new0(MoKeyringTokenStore, 1);

	self->keyring = keyring;
	self->account_name = g_strdup(account);
	self->lock_path = mo_lock_path_for_account(account);
	self->journal_paths[0] = mo_journal_path_for_lock(self->lock_path);
	self->parent.journal_paths = (const gchar *const *)self->journal_paths;
	self->parent.account = self->account_name;
	self->parent.lock_path = self->lock_path;
	self->parent.load = mo_keyring_token_store_load;
	self->parent.load_app = mo_keyring_token_store_load_app;
	self->parent.save = mo_keyring_token_store_save;
	self->parent.refused = mo_keyring_token_store_refused;
	self->parent.free = mo_keyring_token_store_free;
	return &self->parent;
}

static void
mo_keyring_token_store_free(MoTokenStore *store)
{
	MoKeyringTokenStore *self = (MoKeyringTokenStore *)store;

	if (self == NULL)
		return;
	g_free(self->account_name);
	g_free(self->lock_path);
	g_free(self->journal_paths[0]);
	mo_account_free(self->account);
	g_free(self);
}
