/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <glib/gi18n-lib.h>
/* the D-Bus path API (secret-paths.h): the same calls secret-tool lookup makes, without a
 * proxy object per item; unchanged since libsecret 0.7 */
#define SECRET_API_SUBJECT_TO_CHANGE
#include <libsecret/secret.h>
#include <string.h>

#include "mo-error.h"
#include "mo-keyring.h"
#include "mo-lock.h"
#include "mo-secure.h"

/* Attribute values are stored unencrypted and libsecret treats them as unchanging lookup
 * keys, so they hold only the name; tokens and client secrets live in the secret. */
static const SecretSchema mo_account_schema = {
	"org.mailoauth.Account",
	SECRET_SCHEMA_NONE,
	{{"account", SECRET_SCHEMA_ATTRIBUTE_STRING}, {NULL, 0}},
};

static const SecretSchema mo_app_schema = {
	"org.mailoauth.App",
	SECRET_SCHEMA_NONE,
	{{"app", SECRET_SCHEMA_ATTRIBUTE_STRING}, {NULL, 0}},
};

/* KWallet fails about 1–2.5 % of its sessions (DESIGN §4): OpenSession answers "Client public
 * key size is invalid", or the two sides derive different keys and a secret decrypts to
 * nothing. A new session passes; a call that failed so is made once more. */
#define MO_KEYRING_RETRIES 1

struct _MoKeyring {
	SecretService *service;
	guint timeout;
	gboolean unlock_refused; /* not asked again: a second prompt would wait again */
	gboolean transient;	 /* the last error may pass with a new session */
};

/* A GCancellable that a watchdog thread cancels after the timeout. libsecret's sync calls
 * spin their own main context, so a timeout source on ours would never fire; and a locked
 * collection on a desktop waits for the unlock prompt forever otherwise. */
typedef struct {
	GCancellable *cancellable;
	GMutex mutex;
	GCond cond;
	gboolean done;
	gint64 end;
	GThread *thread;
} MoDeadline;

static gpointer
mo_deadline_thread(gpointer data)
{
	MoDeadline *deadline = data;

	g_mutex_lock(&deadline->mutex);
	while (!deadline->done) {
		if (!g_cond_wait_until(&deadline->cond, &deadline->mutex, deadline->end)) {
			if (!deadline->done)
				g_cancellable_cancel(deadline->cancellable);
			break;
		}
	}
	g_mutex_unlock(&deadline->mutex);
	return NULL;
}

static MoDeadline *
mo_deadline_start(guint seconds)
{
	MoDeadline *deadline = g_new0(MoDeadline, 1);

	deadline->cancellable = g_cancellable_new();
	g_mutex_init(&deadline->mutex);
	g_cond_init(&deadline->cond);
	deadline->end = g_get_monotonic_time() + (gint64)seconds * G_USEC_PER_SEC;
	deadline->thread = g_thread_new("mo-deadline", mo_deadline_thread, deadline);
	return deadline;
}

static void
mo_deadline_stop(MoDeadline *deadline)
{
	g_mutex_lock(&deadline->mutex);
	deadline->done = TRUE;
	g_cond_signal(&deadline->cond);
	g_mutex_unlock(&deadline->mutex);
	g_thread_join(deadline->thread);
	g_mutex_clear(&deadline->mutex);
	g_cond_clear(&deadline->cond);
	g_object_unref(deadline->cancellable);
	g_free(deadline);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC(MoDeadline, mo_deadline_stop)

/* Whether @error may pass with a new session (see MO_KEYRING_RETRIES): an answer of the
 * Secret Service, or libsecret failing to read one. Not a timeout, a locked keyring, a missing
 * item or a missing service: those a new session does not change. */
static gboolean
mo_keyring_error_is_transient(const GError *error)
{
	static const GDBusError permanent[] = {
		G_DBUS_ERROR_SERVICE_UNKNOWN,
		G_DBUS_ERROR_NAME_HAS_NO_OWNER,
		G_DBUS_ERROR_NO_REPLY,
		G_DBUS_ERROR_TIMEOUT,
		G_DBUS_ERROR_TIMED_OUT,
		G_DBUS_ERROR_NO_SERVER,
		G_DBUS_ERROR_DISCONNECTED,
		G_DBUS_ERROR_ACCESS_DENIED,
		G_DBUS_ERROR_UNKNOWN_METHOD,
	};

	if (error == NULL)
		return FALSE;
	if (error->domain == SECRET_ERROR)
		return error->code == SECRET_ERROR_PROTOCOL;
	for (guint i = 0; i < G_N_ELEMENTS(permanent); i++) {
		if (g_error_matches(error, G_DBUS_ERROR, permanent[i]))
			return FALSE;
	}
	/* an error name GDBus does not know (KWallet's "Can't find session" for a secret that
	 * does not decrypt); libsecret strips the name from the message */
	return error->domain == G_DBUS_ERROR ||
	       g_error_matches(error, G_IO_ERROR, G_IO_ERROR_DBUS_ERROR) ||
	       g_dbus_error_is_remote_error(error);
}

static void
mo_keyring_set_locked(GError **error)
{
	g_set_error(error,
		    MO_ERROR,
		    MO_ERROR_KEYRING_LOCKED,
		    _("The keyring is locked; unlock it (e.g. log in to the desktop or "
		      "open Passwords and Keys) and try again"));
}

/* Turns a libsecret/GDBus error into ours, with what to do about it, and notes whether it
 * may pass with a new session. Takes @error_local, which may be NULL: libsecret fails some
 * calls without an error (a g_warning() and FALSE, e.g. for an attribute that is not UTF-8). */
static void
mo_keyring_propagate(MoKeyring *keyring, GError **error, GError *error_local)
{
	if (keyring != NULL)
		keyring->transient = mo_keyring_error_is_transient(error_local);
	if (error_local == NULL) {
		g_set_error(error,
			    MO_ERROR,
			    MO_ERROR_KEYRING_UNAVAILABLE,
			    _("Cannot use the keyring (Secret Service): the request failed "
			      "without a reason"));
		return;
	}
	if (g_error_matches(error_local, G_IO_ERROR, G_IO_ERROR_CANCELLED)) {
		g_set_error(error,
			    MO_ERROR,
			    MO_ERROR_KEYRING_LOCKED,
			    _("The keyring did not answer within %u s (it may be locked and "
			      "waiting for its password); unlock it and try again"),
			    keyring != NULL ? keyring->timeout : 0);
	} else if (g_error_matches(error_local, SECRET_ERROR, SECRET_ERROR_IS_LOCKED)) {
		mo_keyring_set_locked(error);
	} else {
		g_set_error(error,
			    MO_ERROR,
			    MO_ERROR_KEYRING_UNAVAILABLE,
			    _("Cannot use the keyring (Secret Service): %s"),
			    error_local->message);
	}
	g_error_free(error_local);
}

static const SecretSchema *
mo_keyring_schema(MoKeyringKind kind)
{
	return kind == MO_KEYRING_ACCOUNT ? &mo_account_schema : &mo_app_schema;
}

static GHashTable *
mo_keyring_attributes(MoKeyringKind kind, const gchar *name)
{
	GHashTable *attrs = g_hash_table_new(g_str_hash, g_str_equal);
	if (name != NULL)
		g_hash_table_insert(attrs,
				    (gpointer)mo_keyring_schema(kind)->attributes[0].name,
				    (gpointer)name);
	return attrs;
}

/* A SecretService of our own, not libsecret's shared one, so that a new session can replace
 * a failed one; with an encrypted session (plain where the service has none). */
static SecretService *
mo_keyring_open_service(GCancellable *cancellable, GError **error)
{
	return secret_service_open_sync(SECRET_TYPE_SERVICE,
					NULL,
					SECRET_SERVICE_OPEN_SESSION,
					cancellable,
					error);
}

/* Replaces the service and its session with new ones, after an error that may pass so. */
static gboolean
mo_keyring_renew_session(MoKeyring *keyring)
{
	g_autoptr(MoDeadline) deadline = mo_deadline_start(keyring->timeout);
	g_autoptr(GError) error_local = NULL;
	SecretService *service = mo_keyring_open_service(deadline->cancellable, &error_local);

	if (service == NULL) {
		g_debug("no new Secret Service session: %s", error_local->message);
		return FALSE;
	}
	g_object_unref(keyring->service);
	keyring->service = service;
	return TRUE;
}

MoKeyring *
mo_keyring_open(guint timeout_seconds, GError **error)
{
	g_autoptr(MoDeadline) deadline = mo_deadline_start(timeout_seconds);
	g_autoptr(MoKeyring) keyring = g_new0(MoKeyring, 1);
	GError *error_local = NULL;

	g_return_val_if_fail(error == NULL || *error == NULL, NULL);

	keyring->timeout = timeout_seconds;
	keyring->service = mo_keyring_open_service(deadline->cancellable, &error_local);
	for (guint i = 0; keyring->service == NULL && i < MO_KEYRING_RETRIES &&
			  mo_keyring_error_is_transient(error_local);
	     i++) {
		g_debug("opening a Secret Service session failed (%s); once more",
			error_local->message);
		g_clear_error(&error_local);
		keyring->service = mo_keyring_open_service(deadline->cancellable, &error_local);
	}
	if (keyring->service == NULL) {
		if (g_error_matches(error_local, G_IO_ERROR, G_IO_ERROR_CANCELLED)) {
			g_clear_error(&error_local);
			g_set_error(error,
				    MO_ERROR,
				    MO_ERROR_KEYRING_UNAVAILABLE,
				    _("The keyring (Secret Service) did not answer within %u s"),
				    timeout_seconds);
			return NULL;
		}
		g_set_error(error,
			    MO_ERROR,
			    MO_ERROR_KEYRING_UNAVAILABLE,
			    _("Cannot reach the keyring: %s. mailoauth keeps tokens in the "
			      "Secret Service (gnome-keyring, KWallet, KeePassXC); run it in a "
			      "desktop session or start one with dbus-run-session and "
			      "gnome-keyring-daemon"),
			    error_local != NULL ? error_local->message : _("no reason given"));
		g_clear_error(&error_local);
		return NULL;
	}
	return g_steal_pointer(&keyring);
}

void
mo_keyring_free(MoKeyring *keyring)
{
	if (keyring == NULL)
		return;
	g_clear_object(&keyring->service);
	g_free(keyring);
}

void
mo_keyring_entry_free(MoKeyringEntry *entry)
{
	if (entry == NULL)
		return;
	g_free(entry->name);
	mo_secure_free(entry->json);
	g_free(entry);
}

/* The secret's bytes as text: not secret_value_get_text(), which gives NULL for any content
 * type but text/plain — KWallet reports the type an item was stored with, and items of
 * earlier versions say application/json. NULL when empty, which a store never writes. */
static gchar *
mo_keyring_value_dup(SecretValue *value)
{
	const gchar *bytes;
	gsize len = 0;

	if (value == NULL)
		return NULL;
	bytes = secret_value_get(value, &len);
	if (bytes == NULL || len == 0)
		return NULL;
	return g_strndup(bytes, len);
}

/* Asks the Secret Service to unlock @paths (items), or the default collection when @paths
 * is NULL, and runs the prompt it returns — bounded by the timeout. On a desktop that is the
 * unlock dialog; headless, gnome-keyring dismisses it at once; KWallet after a login (its
 * collection says Locked until a client asks) opens the wallet with the login password, no
 * dialog. Sets @was_locked when something was locked. After a refusal (or the timeout) the
 * keyring stays locked for this process, without a second wait. */
static gboolean
mo_keyring_unlock(MoKeyring *keyring,
		  const gchar *const *paths,
		  gboolean *was_locked,
		  GError **error)
{
	g_autoptr(MoDeadline) deadline = mo_deadline_start(keyring->timeout);
	g_autoptr(SecretCollection) collection = NULL;
	const gchar *collection_paths[] = {NULL, NULL};
	GError *error_local = NULL;

	if (was_locked != NULL)
		*was_locked = FALSE;
	if (paths == NULL) {
		collection = secret_collection_for_alias_sync(keyring->service,
							      SECRET_COLLECTION_DEFAULT,
							      SECRET_COLLECTION_NONE,
							      deadline->cancellable,
							      &error_local);
		if (error_local != NULL) {
			mo_keyring_propagate(keyring, error, error_local);
			return FALSE;
		}
		/* no default collection: nothing to unlock */
		if (collection == NULL || !secret_collection_get_locked(collection))
			return TRUE;
		collection_paths[0] = g_dbus_proxy_get_object_path(G_DBUS_PROXY(collection));
		paths = collection_paths;
	}
	if (was_locked != NULL)
		*was_locked = TRUE;
	if (keyring->unlock_refused) {
		mo_keyring_set_locked(error);
		return FALSE;
	}
	if (secret_service_unlock_dbus_paths_sync(keyring->service,
						  (const gchar **)paths,
						  deadline->cancellable,
						  NULL,
						  &error_local) > 0)
		return TRUE;
	/* dismissed, timed out or refused; not an error that a new session may pass */
	if (!mo_keyring_error_is_transient(error_local))
		keyring->unlock_refused = TRUE;
	if (error_local != NULL) {
		mo_keyring_propagate(keyring, error, error_local);
		return FALSE;
	}
	mo_keyring_set_locked(error);
	return FALSE;
}

static gboolean
mo_keyring_search_paths(MoKeyring *keyring,
			MoKeyringKind kind,
			const gchar *name,
			GStrv *unlocked,
			GStrv *locked,
			GError **error)
{
	g_autoptr(MoDeadline) deadline = mo_deadline_start(keyring->timeout);
	g_autoptr(GHashTable) attrs = mo_keyring_attributes(kind, name);
	GError *error_local = NULL;

	if (!secret_service_search_for_dbus_paths_sync(keyring->service,
						       mo_keyring_schema(kind),
						       attrs,
						       deadline->cancellable,
						       unlocked,
						       locked,
						       &error_local)) {
		mo_keyring_propagate(keyring, error, error_local);
		return FALSE;
	}
	return TRUE;
}

/* The paths of the items of @kind named @name, unlocked: when the search finds only locked
 * ones, they are unlocked; when it finds none and the default collection is locked, which
 * may hide them (KWallet after a login, KeePassXC), the collection is. An empty array when
 * there is none; NULL with an error (MO_ERROR_KEYRING_LOCKED when it stays locked). */
static GStrv
mo_keyring_find(MoKeyring *keyring, MoKeyringKind kind, const gchar *name, GError **error)
{
	g_auto(GStrv) unlocked = NULL;
	g_auto(GStrv) locked = NULL;
	gboolean was_locked = FALSE;

	if (!mo_keyring_search_paths(keyring, kind, name, &unlocked, &locked, error))
		return NULL;
	if (unlocked == NULL || unlocked[0] == NULL) {
		if (!mo_keyring_unlock(keyring,
				       locked != NULL && locked[0] != NULL
					       ? (const gchar *const *)locked
					       : NULL,
				       &was_locked,
				       error))
			return NULL;
		if (was_locked) {
			g_clear_pointer(&unlocked, g_strfreev);
			g_clear_pointer(&locked, g_strfreev);
			if (!mo_keyring_search_paths(keyring,
						     kind,
						     name,
						     &unlocked,
						     &locked,
						     error))
				return NULL;
			if ((unlocked == NULL || unlocked[0] == NULL) && locked != NULL &&
			    locked[0] != NULL) {
				mo_keyring_set_locked(error);
				return NULL;
			}
		}
	}
	if (unlocked == NULL)
		unlocked = g_new0(gchar *, 1);
	return g_steal_pointer(&unlocked);
}

/* The secret of the unlocked item at @path; NULL without an error when it is empty. */
static gchar *
mo_keyring_path_get_text(MoKeyring *keyring, const gchar *path, GError **error)
{
	g_autoptr(MoDeadline) deadline = mo_deadline_start(keyring->timeout);
	g_autoptr(SecretValue) value = NULL;
	GError *error_local = NULL;

	value = secret_service_get_secret_for_dbus_path_sync(keyring->service,
							     path,
							     deadline->cancellable,
							     &error_local);
	if (error_local != NULL) {
		mo_keyring_propagate(keyring, error, error_local);
		return NULL;
	}
	return mo_keyring_value_dup(value);
}

static void
mo_keyring_set_not_found(MoKeyringKind kind, const gchar *name, GError **error)
{
	if (kind == MO_KEYRING_ACCOUNT)
		g_set_error(error,
			    MO_ERROR,
			    MO_ERROR_NOT_FOUND,
			    _("No account “%s” in the keyring; sign in with “mailoauth authorize "
			      "%s --app APP”, or import a token file with “mailoauth import FILE "
			      "--account %s” (see “mailoauth status” for the accounts)"),
			    name,
			    name,
			    name);
	else
		g_set_error(error,
			    MO_ERROR,
			    MO_ERROR_NOT_FOUND,
			    _("No app “%s” in the keyring; register it with “mailoauth app add "
			      "%s --provider …” (see “mailoauth app list”)"),
			    name,
			    name);
}

/* An item that is there but whose secret came back empty twice: not "no such account", which
 * would send the user to sign in again for nothing. */
static void
mo_keyring_set_empty(MoKeyringKind kind, const gchar *name, GError **error)
{
	if (kind == MO_KEYRING_ACCOUNT)
		g_set_error(error,
			    MO_ERROR,
			    MO_ERROR_INVALID_DATA,
			    _("The keyring has an item for account “%s”, but its secret came "
			      "back empty; try again, and if it stays so, sign in again with "
			      "“mailoauth authorize %s”"),
			    name,
			    name);
	else
		g_set_error(error,
			    MO_ERROR,
			    MO_ERROR_INVALID_DATA,
			    _("The keyring has an item for app “%s”, but its secret came back "
			      "empty; try again, and if it stays so, register the app again with "
			      "“mailoauth app add %s …”"),
			    name,
			    name);
}

/* The commands check names (mo_account_name_is_valid()); this keeps any other caller from
 * handing libsecret an attribute it refuses without an error. */
static gboolean
mo_keyring_check_name(MoKeyringKind kind, const gchar *name, GError **error)
{
	if (name != NULL && g_utf8_validate(name, -1, NULL))
		return TRUE;
	g_set_error_literal(error,
			    MO_ERROR,
			    MO_ERROR_INVALID_ARGUMENT,
			    kind == MO_KEYRING_ACCOUNT ? _("An account name must be UTF-8 text")
						       : _("An app name must be UTF-8 text"));
	return FALSE;
}

/* Whether a failed attempt is made once more, with a new session: after an error that may
 * pass so, or after a found item came back empty (KWallet's session keys that do not match). */
static gboolean
mo_keyring_retry(MoKeyring *keyring, guint attempt, gboolean failed_transiently, GError **error)
{
	if (attempt >= MO_KEYRING_RETRIES || !failed_transiently)
		return FALSE;
	g_debug("keyring call failed%s%s; once more with a new session",
		error != NULL && *error != NULL ? ": " : " (an empty secret)",
		error != NULL && *error != NULL ? (*error)->message : "");
	if (!mo_keyring_renew_session(keyring))
		return FALSE;
	g_clear_error(error);
	return TRUE;
}

/* The secret (JSON) of one item. Not found and locked are different errors: libsecret's
 * simple lookup returns NULL for both, which would tell a user with a locked keyring that
 * the account is gone. */
gchar *
mo_keyring_lookup(MoKeyring *keyring, MoKeyringKind kind, const gchar *name, GError **error)
{
	g_return_val_if_fail(error == NULL || *error == NULL, NULL);

	if (!mo_keyring_check_name(kind, name, error))
		return NULL;
	for (guint attempt = 0;; attempt++) {
		g_auto(GStrv) paths = NULL;
		GError *error_local = NULL;
		gchar *text;

		keyring->transient = FALSE;
		paths = mo_keyring_find(keyring, kind, name, &error_local);
		if (paths != NULL && paths[0] == NULL) {
			mo_keyring_set_not_found(kind, name, error);
			return NULL;
		}
		if (paths == NULL) {
			if (mo_keyring_retry(keyring, attempt, keyring->transient, &error_local))
				continue;
			g_propagate_error(error, error_local);
			return NULL;
		}
		text = mo_keyring_path_get_text(keyring, paths[0], &error_local);
		if (text != NULL)
			return text;
		if (mo_keyring_retry(keyring,
				     attempt,
				     error_local == NULL || keyring->transient,
				     &error_local))
			continue;
		if (error_local != NULL)
			g_propagate_error(error, error_local);
		else
			mo_keyring_set_empty(kind, name, error);
		return NULL;
	}
}

/* Writes @value into the existing item at @path. */
static gboolean
mo_keyring_path_set_secret(MoKeyring *keyring,
			   const gchar *path,
			   SecretValue *value,
			   GError **error)
{
	g_autoptr(MoDeadline) deadline = mo_deadline_start(keyring->timeout);
	g_autoptr(SecretItem) item = NULL;
	GError *error_local = NULL;

	item = secret_item_new_for_dbus_path_sync(keyring->service,
						  path,
						  SECRET_ITEM_NONE,
						  deadline->cancellable,
						  &error_local);
	if (item == NULL ||
	    !secret_item_set_secret_sync(item, value, deadline->cancellable, &error_local)) {
		mo_keyring_propagate(keyring, error, error_local);
		return FALSE;
	}
	return TRUE;
}

/* One attempt of mo_keyring_store(); then the item is read back: a session whose keys do not
 * match can make the keyring store something else, and nothing would tell. */
static gboolean
mo_keyring_try_store(MoKeyring *keyring,
		     MoKeyringKind kind,
		     const gchar *name,
		     const gchar *json,
		     GError **error)
{
	g_autoptr(GHashTable) attrs = mo_keyring_attributes(kind, name);
	/* text/plain: what every implementation reads back as text (KWallet keeps the type) */
	g_autoptr(SecretValue) value = secret_value_new(json, -1, "text/plain");
	g_auto(GStrv) paths = NULL;
	mo_autosecret gchar *stored = NULL;
	GError *error_local = NULL;

	paths = mo_keyring_find(keyring, kind, name, error);
	if (paths == NULL)
		return FALSE;
	if (paths[0] != NULL) {
		/* into the item that is there: KeePassXC 2.7.4 never answers CreateItem with
		 * replace for an existing item */
		if (!mo_keyring_path_set_secret(keyring, paths[0], value, error))
			return FALSE;
	} else {
		g_autoptr(MoDeadline) deadline = mo_deadline_start(keyring->timeout);
		g_autofree gchar *label = g_strdup_printf(
			kind == MO_KEYRING_ACCOUNT ? "mailoauth account %s" : "mailoauth app %s",
			name);

		if (!secret_service_store_sync(keyring->service,
					       mo_keyring_schema(kind),
					       attrs,
					       SECRET_COLLECTION_DEFAULT,
					       label,
					       value,
					       deadline->cancellable,
					       &error_local)) {
			mo_keyring_propagate(keyring, error, error_local);
			return FALSE;
		}
		g_strfreev(g_steal_pointer(&paths));
		paths = mo_keyring_find(keyring, kind, name, error);
		if (paths == NULL)
			return FALSE;
	}
	if (paths[0] != NULL) {
		stored = mo_keyring_path_get_text(keyring, paths[0], error);
		if (stored != NULL && g_strcmp0(stored, json) == 0)
			return TRUE;
		if (error != NULL && *error != NULL)
			return FALSE;
	}
	keyring->transient = TRUE;
	g_set_error(error,
		    MO_ERROR,
		    MO_ERROR_KEYRING_UNAVAILABLE,
		    kind == MO_KEYRING_ACCOUNT
			    ? _("The keyring did not keep what was stored for account “%s”")
			    : _("The keyring did not keep what was stored for app “%s”"),
		    name);
	return FALSE;
}

/* Stores @json as the item of @kind named @name: into the item that is there, or a new one.
 * Token, refresh token and expiry change together, in one secret. */
gboolean
mo_keyring_store(MoKeyring *keyring,
		 MoKeyringKind kind,
		 const gchar *name,
		 const gchar *json,
		 GError **error)
{
	g_return_val_if_fail(error == NULL || *error == NULL, FALSE);

	if (!mo_keyring_check_name(kind, name, error))
		return FALSE;
	for (guint attempt = 0;; attempt++) {
		GError *error_local = NULL;

		keyring->transient = FALSE;
		if (mo_keyring_try_store(keyring, kind, name, json, &error_local))
			return TRUE;
		if (mo_keyring_retry(keyring, attempt, keyring->transient, &error_local))
			continue;
		g_propagate_error(error, error_local);
		return FALSE;
	}
}

gboolean
mo_keyring_delete(MoKeyring *keyring, MoKeyringKind kind, const gchar *name, GError **error)
{
	g_return_val_if_fail(error == NULL || *error == NULL, FALSE);

	if (!mo_keyring_check_name(kind, name, error))
		return FALSE;
	for (guint attempt = 0;; attempt++) {
		g_auto(GStrv) paths = NULL;
		GError *error_local = NULL;
		gboolean deleted = TRUE;

		keyring->transient = FALSE;
		paths = mo_keyring_find(keyring, kind, name, &error_local);
		if (paths != NULL && paths[0] == NULL) {
			mo_keyring_set_not_found(kind, name, error);
			return FALSE;
		}
		for (guint i = 0; paths != NULL && paths[i] != NULL && deleted; i++) {
			g_autoptr(MoDeadline) deadline = mo_deadline_start(keyring->timeout);
			GError *error_delete = NULL;

			deleted = secret_service_delete_item_dbus_path_sync(keyring->service,
									    paths[i],
									    deadline->cancellable,
									    &error_delete);
			if (!deleted)
				mo_keyring_propagate(keyring, &error_local, error_delete);
		}
		if (paths != NULL && deleted)
			return TRUE;
		if (mo_keyring_retry(keyring, attempt, keyring->transient, &error_local))
			continue;
		g_propagate_error(error, error_local);
		return FALSE;
	}
}

static gint
mo_keyring_entry_compare(gconstpointer a, gconstpointer b)
{
	const MoKeyringEntry *ea = *(MoKeyringEntry *const *)a;
	const MoKeyringEntry *eb = *(MoKeyringEntry *const *)b;
	return g_strcmp0(ea->name, eb->name);
}

/* All items of @kind, locked ones included, secrets loaded where unlocked. */
static GList *
mo_keyring_search(MoKeyring *keyring, MoKeyringKind kind, GError **error)
{
	g_autoptr(MoDeadline) deadline = mo_deadline_start(keyring->timeout);
	g_autoptr(GHashTable) attrs = mo_keyring_attributes(kind, NULL);
	GError *error_local = NULL;
	GList *items;

	items = secret_service_search_sync(keyring->service,
					   mo_keyring_schema(kind),
					   attrs,
					   SECRET_SEARCH_ALL | SECRET_SEARCH_LOAD_SECRETS,
					   deadline->cancellable,
					   &error_local);
	if (error_local != NULL) {
		mo_keyring_propagate(keyring, error, error_local);
		return NULL;
	}
	return items;
}

/* Whether an unlocked item of @items came without its secret. */
static gboolean
mo_keyring_items_lack_secret(GList *items)
{
	for (GList *l = items; l != NULL; l = l->next) {
		g_autoptr(SecretValue) value = secret_item_get_secret(l->data);
		gsize len = 0;

		if (!secret_item_get_locked(l->data) &&
		    (value == NULL || secret_value_get(value, &len) == NULL || len == 0))
			return TRUE;
	}
	return FALSE;
}

/* The items of @kind, after asking once to unlock what is locked (see mo_keyring_unlock());
 * when that fails, locked items are listed as such. */
static GList *
mo_keyring_search_unlocked(MoKeyring *keyring, MoKeyringKind kind, GError **error)
{
	g_autolist(SecretItem) items = NULL;
	g_autoptr(GPtrArray) locked = g_ptr_array_new();
	g_autoptr(GError) error_unlock = NULL;
	gboolean was_locked = FALSE;
	GError *error_local = NULL;

	items = mo_keyring_search(keyring, kind, &error_local);
	if (error_local != NULL) {
		g_propagate_error(error, error_local);
		return NULL;
	}
	for (GList *l = items; l != NULL; l = l->next) {
		if (secret_item_get_locked(l->data))
			g_ptr_array_add(
				locked,
				(gpointer)g_dbus_proxy_get_object_path(G_DBUS_PROXY(l->data)));
	}
	g_ptr_array_add(locked, NULL);
	if ((items == NULL || locked->len > 1) &&
	    mo_keyring_unlock(keyring,
			      locked->len > 1 ? (const gchar *const *)locked->pdata : NULL,
			      &was_locked,
			      &error_unlock) &&
	    was_locked) {
		g_list_free_full(g_steal_pointer(&items), g_object_unref);
		items = mo_keyring_search(keyring, kind, &error_local);
		if (error_local != NULL) {
			g_propagate_error(error, error_local);
			return NULL;
		}
	} else if (error_unlock != NULL) {
		g_debug("listing the keyring locked: %s", error_unlock->message);
	}
	return g_steal_pointer(&items);
}

/* Every item of @kind, sorted by name; locked items are listed without their secret. */
GPtrArray *
mo_keyring_list(MoKeyring *keyring, MoKeyringKind kind, GError **error)
{
	g_autolist(SecretItem) items = NULL;
	g_autoptr(GPtrArray) entries = NULL;
	const gchar *attr = mo_keyring_schema(kind)->attributes[0].name;

	for (guint attempt = 0;; attempt++) {
		GError *error_local = NULL;

		keyring->transient = FALSE;
		items = mo_keyring_search_unlocked(keyring, kind, &error_local);
		if (error_local == NULL && !mo_keyring_items_lack_secret(items))
			break;
		if (mo_keyring_retry(keyring,
				     attempt,
				     error_local == NULL || keyring->transient,
				     &error_local)) {
			g_list_free_full(g_steal_pointer(&items), g_object_unref);
			continue;
		}
		if (error_local != NULL) {
			g_propagate_error(error, error_local);
			return NULL;
		}
		/* still without a secret: listed so, and the caller says it is empty */
		break;
	}
	entries = g_ptr_array_new_with_free_func((GDestroyNotify)mo_keyring_entry_free);
	for (GList *l = items; l != NULL; l = l->next) {
		g_autoptr(GHashTable) attrs = secret_item_get_attributes(l->data);
		g_autoptr(SecretValue) value = secret_item_get_secret(l->data);
		MoKeyringEntry *entry = g_new0(MoKeyringEntry, 1);

		entry->name = g_strdup(g_hash_table_lookup(attrs, attr));
		entry->locked = secret_item_get_locked(l->data);
		entry->json = mo_keyring_value_dup(value);
		g_ptr_array_add(entries, entry);
	}
	g_ptr_array_sort(entries, mo_keyring_entry_compare);
	return g_steal_pointer(&entries);
}

/* Whether the default collection is locked, without prompting. */
gboolean
mo_keyring_is_locked(MoKeyring *keyring, GError **error)
{
	g_autoptr(MoDeadline) deadline = mo_deadline_start(keyring->timeout);
	g_autoptr(SecretCollection) collection = NULL;
	GError *error_local = NULL;

	collection = secret_collection_for_alias_sync(keyring->service,
						      SECRET_COLLECTION_DEFAULT,
						      SECRET_COLLECTION_NONE,
						      deadline->cancellable,
						      &error_local);
	if (error_local != NULL) {
		mo_keyring_propagate(keyring, error, error_local);
		return FALSE;
	}
	return collection != NULL && secret_collection_get_locked(collection);
}
