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

struct _MoKeyring {
	SecretService *service;
	guint timeout;
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

/* Turns a libsecret/GDBus error into ours, with what to do about it. Takes @error_local, which
 * may be NULL: libsecret fails some calls without an error (a g_warning() and FALSE, e.g. for
 * an attribute that is not UTF-8). */
static void
mo_keyring_propagate(MoKeyring *keyring, GError **error, GError *error_local)
{
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
		g_set_error(error,
			    MO_ERROR,
			    MO_ERROR_KEYRING_LOCKED,
			    _("The keyring is locked; unlock it (e.g. log in to the desktop or "
			      "open Passwords and Keys) and try again"));
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

MoKeyring *
mo_keyring_open(guint timeout_seconds, GError **error)
{
	g_autoptr(MoDeadline) deadline = mo_deadline_start(timeout_seconds);
	g_autoptr(MoKeyring) keyring = g_new0(MoKeyring, 1);
	GError *error_local = NULL;

	g_return_val_if_fail(error == NULL || *error == NULL, NULL);

	keyring->timeout = timeout_seconds;
	keyring->service = secret_service_get_sync(SECRET_SERVICE_OPEN_SESSION,
						   deadline->cancellable,
						   &error_local);
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

/* All items of @kind (and @name), locked ones included, secrets loaded where unlocked. */
static GList *
mo_keyring_search(MoKeyring *keyring, MoKeyringKind kind, const gchar *name, GError **error)
{
	g_autoptr(MoDeadline) deadline = mo_deadline_start(keyring->timeout);
	g_autoptr(GHashTable) attrs = mo_keyring_attributes(kind, name);
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

/* The secret of the item at @path, unlocking it first if needed: on a desktop that shows
 * the unlock prompt, bounded by the timeout; headless it is dismissed at once. NULL without
 * error when the secret is empty, which counts as missing. */
static gchar *
mo_keyring_path_get_text(MoKeyring *keyring, const gchar *path, gboolean locked, GError **error)
{
	g_autoptr(MoDeadline) deadline = mo_deadline_start(keyring->timeout);
	g_autoptr(SecretValue) value = NULL;
	const gchar *paths[] = {path, NULL};
	GError *error_local = NULL;
	const gchar *text;
	gsize len = 0;

	if (locked && secret_service_unlock_dbus_paths_sync(keyring->service,
							    paths,
							    deadline->cancellable,
							    NULL,
							    &error_local) == 0) {
		if (error_local != NULL &&
		    !g_error_matches(error_local, G_IO_ERROR, G_IO_ERROR_CANCELLED)) {
			mo_keyring_propagate(keyring, error, error_local);
			return NULL;
		}
		g_clear_error(&error_local);
		g_set_error(error,
			    MO_ERROR,
			    MO_ERROR_KEYRING_LOCKED,
			    _("The keyring is locked; unlock it (e.g. log in to the desktop or "
			      "open Passwords and Keys) and try again"));
		return NULL;
	}
	value = secret_service_get_secret_for_dbus_path_sync(keyring->service,
							     path,
							     deadline->cancellable,
							     &error_local);
	if (error_local != NULL) {
		mo_keyring_propagate(keyring, error, error_local);
		return NULL;
	}
	text = value != NULL ? secret_value_get(value, &len) : NULL;
	if (text == NULL || len == 0)
		return NULL;
	return g_strndup(text, len);
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

/* The secret (JSON) of one item. Not found and locked are different errors: libsecret's
 * simple lookup returns NULL for both, which would tell a user with a locked keyring that
 * the account is gone. */
gchar *
mo_keyring_lookup(MoKeyring *keyring, MoKeyringKind kind, const gchar *name, GError **error)
{
	g_autoptr(MoDeadline) deadline = mo_deadline_start(keyring->timeout);
	g_autoptr(GHashTable) attrs = mo_keyring_attributes(kind, name);
	g_auto(GStrv) unlocked = NULL;
	g_auto(GStrv) locked = NULL;
	GError *error_local = NULL;
	gchar *text;

	g_return_val_if_fail(error == NULL || *error == NULL, NULL);

	if (!mo_keyring_check_name(kind, name, error))
		return NULL;

	if (!secret_service_search_for_dbus_paths_sync(keyring->service,
						       mo_keyring_schema(kind),
						       attrs,
						       deadline->cancellable,
						       &unlocked,
						       &locked,
						       &error_local)) {
		mo_keyring_propagate(keyring, error, error_local);
		return NULL;
	}
	if (unlocked != NULL && unlocked[0] != NULL)
		text = mo_keyring_path_get_text(keyring, unlocked[0], FALSE, error);
	else if (locked != NULL && locked[0] != NULL)
		text = mo_keyring_path_get_text(keyring, locked[0], TRUE, error);
	else if (mo_keyring_is_locked(keyring, NULL)) {
		/* a locked collection may hide it */
		g_set_error(error,
			    MO_ERROR,
			    MO_ERROR_KEYRING_LOCKED,
			    _("The keyring is locked, so “%s” cannot be looked up; unlock it and "
			      "try again"),
			    name);
		return NULL;
	} else
		text = NULL;
	if (text == NULL && (error == NULL || *error == NULL))
		mo_keyring_set_not_found(kind, name, error);
	return text;
}

gboolean
mo_keyring_store(MoKeyring *keyring,
		 MoKeyringKind kind,
		 const gchar *name,
		 const gchar *json,
		 GError **error)
{
	g_autoptr(MoDeadline) deadline = mo_deadline_start(keyring->timeout);
	g_autoptr(GHashTable) attrs = mo_keyring_attributes(kind, name);
	g_autoptr(SecretValue) value = secret_value_new(json, -1, "application/json");
	g_autofree gchar *label = g_strdup_printf(
		kind == MO_KEYRING_ACCOUNT ? "mailoauth account %s" : "mailoauth app %s",
		name);
	GError *error_local = NULL;

	g_return_val_if_fail(error == NULL || *error == NULL, FALSE);

	if (!mo_keyring_check_name(kind, name, error))
		return FALSE;
	/* replaces the item with the same attributes in one call: token, refresh token and
	 * expiry change together */
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
	return TRUE;
}

gboolean
mo_keyring_delete(MoKeyring *keyring, MoKeyringKind kind, const gchar *name, GError **error)
{
	g_autoptr(MoDeadline) deadline = mo_deadline_start(keyring->timeout);
	g_autoptr(GHashTable) attrs = mo_keyring_attributes(kind, name);
	GError *error_local = NULL;

	g_return_val_if_fail(error == NULL || *error == NULL, FALSE);

	if (!mo_keyring_check_name(kind, name, error))
		return FALSE;
	if (!secret_service_clear_sync(keyring->service,
				       mo_keyring_schema(kind),
				       attrs,
				       deadline->cancellable,
				       &error_local)) {
		if (error_local != NULL) {
			mo_keyring_propagate(keyring, error, error_local);
			return FALSE;
		}
		mo_keyring_set_not_found(kind, name, error);
		return FALSE;
	}
	return TRUE;
}

static gint
mo_keyring_entry_compare(gconstpointer a, gconstpointer b)
{
	const MoKeyringEntry *ea = *(MoKeyringEntry *const *)a;
	const MoKeyringEntry *eb = *(MoKeyringEntry *const *)b;
	return g_strcmp0(ea->name, eb->name);
}

/* Every item of @kind, sorted by name; locked items are listed without their secret. */
GPtrArray *
mo_keyring_list(MoKeyring *keyring, MoKeyringKind kind, GError **error)
{
	g_autolist(SecretItem) items = NULL;
	g_autoptr(GPtrArray) entries = NULL;
	const gchar *attr = mo_keyring_schema(kind)->attributes[0].name;
	GError *error_local = NULL;

	items = mo_keyring_search(keyring, kind, NULL, &error_local);
	if (error_local != NULL) {
		g_propagate_error(error, error_local);
		return NULL;
	}
	entries = g_ptr_array_new_with_free_func((GDestroyNotify)mo_keyring_entry_free);
	for (GList *l = items; l != NULL; l = l->next) {
		g_autoptr(GHashTable) attrs = secret_item_get_attributes(l->data);
		g_autoptr(SecretValue) value = secret_item_get_secret(l->data);
		MoKeyringEntry *entry = g_new0(MoKeyringEntry, 1);

		entry->name = g_strdup(g_hash_table_lookup(attrs, attr));
		entry->locked = secret_item_get_locked(l->data);
		if (value != NULL)
			entry->json = g_strdup(secret_value_get_text(value));
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
