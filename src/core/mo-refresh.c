/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <glib/gi18n-lib.h>

#include "mo-error.h"
#include "mo-journal.h"
#include "mo-lock.h"
#include "mo-oauth.h"
#include "mo-refresh.h"
#include "mo-secure.h"

static gint64
mo_refresh_now(void)
{
	return g_get_real_time() / G_USEC_PER_SEC;
}

/* Under the lock: did another process refresh since @before was read? Then its token is the
 * one to use, even if a margin larger than the token's lifetime calls it stale: refreshing
 * again would only queue every waiting process behind one more request. */
static gboolean
mo_refresh_was_done_meanwhile(const MoToken *before, const MoToken *now)
{
	return now->last_refresh != before->last_refresh ||
	       g_strcmp0(now->access_token, before->access_token) != 0;
}

static void mo_refresh_warn(const MoRefreshOptions *options, const gchar *format, ...)
	G_GNUC_PRINTF(2, 3);

static void
mo_refresh_warn(const MoRefreshOptions *options, const gchar *format, ...)
{
	g_autofree gchar *message = NULL;
	va_list args;

	va_start(args, format);
	message = g_strdup_vprintf(format, args);
	va_end(args);
	if (options->warn != NULL)
		options->warn(message, options->warn_data);
	else
		g_warning("%s", message);
}

/* The store failed after the provider answered: this caller still gets the fresh token. The
 * answer is kept in the journal when one could be written, and the next refresh stores it;
 * without a journal a rotated refresh token is lost, and the user must hear it. */
static void
mo_refresh_store_failed(MoTokenStore *store,
			const MoRefreshOptions *options,
			gboolean journaled,
			const GError *error)
{
	if (journaled)
		mo_refresh_warn(
			options,
			_("The token of %s was refreshed but cannot be stored yet (%s); it is "
			  "kept in the refresh journal and stored by the next refresh"),
			store->account,
			error->message);
	else
		mo_refresh_warn(options,
				_("The token of %s was refreshed but cannot be stored (%s); if the "
				  "provider replaced the refresh token, the next refresh will fail "
				  "and a new sign-in is needed"),
				store->account,
				error->message);
}

/* Asks the provider, then keeps the answer before anything else — first in the journal,
 * then in the store: a rotated refresh token exists nowhere but in this process until then. */
static gboolean
mo_refresh_from_provider(MoTokenStore *store,
			 MoToken *token,
			 const MoRefreshOptions *options,
			 GError **error)
{
	g_autoptr(MoApp) app = NULL;
	g_autoptr(MoToken) response = NULL;
	g_autoptr(MoToken) previous = NULL;
	g_autoptr(GError) error_local = NULL;
	gboolean journaled;

	if (token->refresh_token == NULL || token->refresh_token[0] == '\0') {
		g_set_error(error,
			    MO_ERROR,
			    MO_ERROR_INVALID_DATA,
			    _("Account %s has no refresh token"),
			    store->account);
		return FALSE;
	}
	app = store->load_app(store, error);
	if (app == NULL)
		return FALSE;
	response = mo_oauth_refresh(app, token->refresh_token, &options->http, &error_local);
	if (response == NULL) {
		g_propagate_prefixed_error(error,
					   g_steal_pointer(&error_local),
					   _("Cannot refresh the token of %s: "),
					   store->account);
		return FALSE;
	}
	previous = mo_token_copy(token);
	mo_token_merge_refresh(token, response, mo_refresh_now());
	journaled = mo_journal_write(store->journal_paths, previous, token, &error_local);
	if (!journaled && store->journal_paths != NULL)
		g_debug("no refresh journal for %s: %s", store->account, error_local->message);
	g_clear_error(&error_local);
	if (!store->save(store, token, &error_local)) {
		mo_refresh_store_failed(store, options, journaled, error_local);
		return TRUE;
	}
	mo_journal_remove(store->journal_paths);
	return TRUE;
}

/* Under the lock, before any request: a refresh whose answer reached an earlier process but
 * not the store (killed; the store failed) left a journal. The store gets it now, and the
 * journaled token is the one to go on with. Returns @stored, updated. */
static MoToken *
mo_refresh_recover(MoTokenStore *store, MoToken *stored, const MoRefreshOptions *options)
{
	mo_autosecret gchar *previous = NULL;
	g_autoptr(MoToken) journaled = mo_journal_read(store->journal_paths, &previous);
	g_autoptr(GError) error_local = NULL;

	if (journaled == NULL)
		return stored;
	if (g_strcmp0(stored->access_token, journaled->access_token) == 0 ||
	    g_strcmp0(stored->refresh_token, previous) != 0) {
		/* the store has it; or the account was signed in again since: a stale journal */
		mo_journal_remove(store->journal_paths);
		return stored;
	}
	mo_token_merge_refresh(stored, journaled, journaled->last_refresh);
	if (!store->save(store, stored, &error_local)) {
		mo_refresh_warn(options,
				_("The refreshed token of %s, kept in the refresh journal, still "
				  "cannot be stored (%s); it is used meanwhile"),
				store->account,
				error_local->message);
		return stored;
	}
	g_debug("took the refresh journal of %s back into the store", store->account);
	mo_journal_remove(store->journal_paths);
	return stored;
}

/* How long to wait for another process's refresh: its requests with their retries, and some
 * slack. Bounded, so that a stuck holder (a suspended "mailoauth refresh") cannot hang every
 * PassCmd and postfix process behind it. */
static guint
mo_refresh_lock_wait(const MoRefreshOptions *options)
{
	return options->http.timeout * MO_OAUTH_MAX_ATTEMPTS + 2 * MO_OAUTH_MAX_RETRY_WAIT + 10;
}

/* A refresh that failed for a passing reason need not fail the caller while the stored token
 * still works; one that the provider refused (authorize again) must, and so must --force. */
static gboolean
mo_refresh_can_keep(const MoToken *token, const MoRefreshOptions *options, const GError *error)
{
	return !options->force && g_error_matches(error, MO_ERROR, MO_ERROR_TRANSIENT) &&
	       mo_token_seconds_left(token, mo_refresh_now()) >= MO_REFRESH_KEEP_MIN_LEFT;
}

/* Returns a token with more than options->margin seconds left, refreshing it if needed.
 * The fast path reads the store once and takes no lock. */
/* The store's own margin (a token file's refresh_window), else the caller's. */
static gint64
mo_refresh_margin(MoTokenStore *store, const MoRefreshOptions *options)
{
	return store->margin != NULL ? store->margin(store, options->margin) : options->margin;
}

/* A lock that cannot even be opened must not fail a login the stored token can still make. */
static MoToken *
mo_refresh_without_lock(MoTokenStore *store,
			const MoRefreshOptions *options,
			MoToken *before,
			GError *lock_error,
			GError **error)
{
	if (options->force ||
	    mo_token_seconds_left(before, mo_refresh_now()) < MO_REFRESH_KEEP_MIN_LEFT) {
		mo_token_free(before);
		g_propagate_error(error, lock_error);
		return NULL;
	}
	mo_refresh_warn(options,
			_("%s; the stored token of %s, still valid for a while, is used meanwhile"),
			lock_error->message,
			store->account);
	g_error_free(lock_error);
	return before;
}

MoToken *
mo_refresh_get_token(MoTokenStore *store,
		     const MoRefreshOptions *options,
		     gboolean *refreshed,
		     GError **error)
{
	g_autoptr(MoToken) before = NULL;
	g_autoptr(MoToken) token = NULL;
	g_autoptr(MoLock) lock = NULL;
	g_autoptr(GError) error_local = NULL;

	g_return_val_if_fail(error == NULL || *error == NULL, NULL);

	if (refreshed != NULL)
		*refreshed = FALSE;
	before = store->load(store, error);
	if (before == NULL)
		return NULL;
	if (!options->force &&
	    mo_token_is_fresh(before, mo_refresh_now(), mo_refresh_margin(store, options)))
		return g_steal_pointer(&before);

	if (options->before_request != NULL)
		options->before_request();
	lock = mo_lock_acquire_within(store->lock_path,
				      mo_refresh_lock_wait(options),
				      &error_local);
	if (lock == NULL)
		return mo_refresh_without_lock(store,
					       options,
					       g_steal_pointer(&before),
					       g_steal_pointer(&error_local),
					       error);
	if (store->tidy != NULL)
		store->tidy(store);
	token = store->load(store, error);
	if (token == NULL)
		return NULL;
	token = mo_refresh_recover(store, token, options);
	if (!options->force &&
	    mo_token_is_fresh(token, mo_refresh_now(), mo_refresh_margin(store, options)))
		return g_steal_pointer(&token);
	if (mo_refresh_was_done_meanwhile(before, token) &&
	    mo_token_seconds_left(token, mo_refresh_now()) > 0)
		return g_steal_pointer(&token);
	if (!mo_refresh_from_provider(store, token, options, &error_local)) {
		if (store->refused != NULL && mo_error_needs_reauthorization(error_local))
			store->refused(store, error_local);
		if (!mo_refresh_can_keep(token, options, error_local)) {
			g_propagate_error(error, g_steal_pointer(&error_local));
			return NULL;
		}
		mo_refresh_warn(options,
				_("%s; the stored token of %s, still valid for a while, is used "
				  "meanwhile"),
				error_local->message,
				store->account);
		return g_steal_pointer(&token);
	}
	if (refreshed != NULL)
		*refreshed = TRUE;
	return g_steal_pointer(&token);
}
