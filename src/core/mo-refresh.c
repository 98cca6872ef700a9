/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <glib/gi18n-lib.h>

#include "mo-error.h"
#include "mo-lock.h"
#include "mo-oauth.h"
#include "mo-refresh.h"

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

/* Asks the provider, then stores before anything else: a rotated refresh token exists
 * nowhere but in this process until it is saved. */
static gboolean
mo_refresh_from_provider(MoTokenStore *store,
			 MoToken *token,
			 const MoRefreshOptions *options,
			 GError **error)
{
	g_autoptr(MoApp) app = NULL;
	g_autoptr(MoToken) response = NULL;
	g_autoptr(GError) error_local = NULL;

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
	mo_token_merge_refresh(token, response, mo_refresh_now());
	if (!store->save(store, token, &error_local)) {
		g_propagate_prefixed_error(error,
					   g_steal_pointer(&error_local),
					   _("The token of %s was refreshed but cannot be stored "
					     "(the provider may have replaced the refresh token; "
					     "if the next attempt fails, authorize again): "),
					   store->account);
		return FALSE;
	}
	return TRUE;
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
	if (!options->force && mo_token_is_fresh(before, mo_refresh_now(), options->margin))
		return g_steal_pointer(&before);

	if (options->before_request != NULL)
		options->before_request();
	lock = mo_lock_acquire_within(store->lock_path, mo_refresh_lock_wait(options), error);
	if (lock == NULL)
		return NULL;
	token = store->load(store, error);
	if (token == NULL)
		return NULL;
	if (!options->force && mo_token_is_fresh(token, mo_refresh_now(), options->margin))
		return g_steal_pointer(&token);
	if (mo_refresh_was_done_meanwhile(before, token) &&
	    mo_token_seconds_left(token, mo_refresh_now()) > 0)
		return g_steal_pointer(&token);
	if (!mo_refresh_from_provider(store, token, options, &error_local)) {
		if (!mo_refresh_can_keep(token, options, error_local)) {
			g_propagate_error(error, g_steal_pointer(&error_local));
			return NULL;
		}
		if (options->warn != NULL)
			options->warn(error_local->message, options->warn_data);
		return g_steal_pointer(&token);
	}
	if (refreshed != NULL)
		*refreshed = TRUE;
	return g_steal_pointer(&token);
}
