/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <glib/gi18n.h>
#include <json-glib/json-glib.h>

#include "mo-cli.h"
#include "mo-json.h"

/* One account as status shows it; never includes a token. */
static JsonObject *
mo_status_account_json(const MoAccount *account, gint64 now, gint64 margin)
{
	JsonObject *obj = json_object_new();
	const MoToken *token = account->token;

	json_object_set_string_member(obj, "account", account->name);
	json_object_set_string_member(obj, "user", account->user);
	if (account->app != NULL)
		json_object_set_string_member(obj, "app", account->app);
	else
		json_object_set_null_member(obj, "app");
	if (token->expiry > 0) {
		json_object_set_int_member(obj, "expiry", token->expiry);
		json_object_set_int_member(obj, "expires_in", token->expiry - now);
	} else {
		json_object_set_null_member(obj, "expiry");
		json_object_set_null_member(obj, "expires_in");
	}
	json_object_set_boolean_member(obj, "fresh", mo_token_is_fresh(token, now, margin));
	json_object_set_boolean_member(obj, "refresh_token", token->refresh_token != NULL);
	if (token->last_refresh > 0)
		json_object_set_int_member(obj, "last_refresh", token->last_refresh);
	else
		json_object_set_null_member(obj, "last_refresh");
	return obj;
}

static void
mo_status_print_account(JsonObject *obj, gint64 now)
{
	g_autofree gchar *expiry = NULL;
	g_autofree gchar *refreshed = NULL;

	expiry = mo_cli_format_time(json_object_get_int_member_with_default(obj, "expiry", 0), now);
	refreshed =
		mo_cli_format_time(json_object_get_int_member_with_default(obj, "last_refresh", 0),
				   now);
	g_print("%s\n", json_object_get_string_member(obj, "account"));
	g_print("  %-14s %s\n", _("user:"), json_object_get_string_member(obj, "user"));
	g_print("  %-14s %s\n",
		_("app:"),
		json_object_get_string_member_with_default(obj, "app", _("(none)")));
	g_print("  %-14s %s%s\n",
		_("access token:"),
		expiry,
		json_object_get_boolean_member(obj, "fresh") ? ""
							     : _(" — will be refreshed on use"));
	g_print("  %-14s %s\n",
		_("refresh token:"),
		json_object_get_boolean_member(obj, "refresh_token") ? _("present") : _("missing"));
	g_print("  %-14s %s\n",
		_("last refresh:"),
		json_object_get_int_member_with_default(obj, "last_refresh", 0) > 0
			? refreshed
			: _("never (by mailoauth)"));
}

/* Collects the accounts (all, or just @only) into @accounts. */
static gboolean
mo_status_collect(MoCli *cli,
		  const gchar *only,
		  JsonArray *accounts,
		  gboolean *locked,
		  GError **error)
{
	MoKeyring *keyring = mo_cli_get_keyring(cli, error);
	g_autoptr(GPtrArray) entries = NULL;
	gint64 now = g_get_real_time() / G_USEC_PER_SEC;
	gboolean found = FALSE;

	if (keyring == NULL ||
	    (entries = mo_keyring_list(keyring, MO_KEYRING_ACCOUNT, error)) == NULL)
		return FALSE;
	*locked = mo_keyring_is_locked(keyring, NULL);
	for (guint i = 0; i < entries->len; i++) {
		MoKeyringEntry *entry = g_ptr_array_index(entries, i);
		g_autoptr(MoAccount) account = NULL;

		if (only != NULL && g_strcmp0(only, entry->name) != 0)
			continue;
		found = TRUE;
		if (entry->locked) {
			*locked = TRUE;
			continue;
		}
		account = mo_account_from_json(entry->json, entry->name, error);
		if (account == NULL)
			return FALSE;
		json_array_add_object_element(
			accounts,
			mo_status_account_json(account, now, cli->config.refresh_margin));
	}
	if (only != NULL && !found) {
		if (*locked)
			g_set_error(error,
				    MO_ERROR,
				    MO_ERROR_KEYRING_LOCKED,
				    _("The keyring is locked, so “%s” cannot be looked up; unlock "
				      "it and try again"),
				    only);
		else
			g_set_error(error,
				    MO_ERROR,
				    MO_ERROR_NOT_FOUND,
				    _("No account “%s” in the keyring (see “mailoauth status”)"),
				    only);
		return FALSE;
	}
	return TRUE;
}

static void
mo_status_print(JsonObject *report, gboolean as_json)
{
	JsonArray *accounts = json_object_get_array_member(report, "accounts");
	gint64 now = g_get_real_time() / G_USEC_PER_SEC;
	g_autofree gchar *text = NULL;

	if (as_json) {
		text = mo_json_to_string(report, TRUE);
		g_print("%s\n", text);
		return;
	}
	g_print(_("keyring: %s\n"), json_object_get_string_member(report, "keyring"));
	if (json_array_get_length(accounts) == 0)
		g_print("%s\n",
			_("No accounts; add one with “mailoauth authorize” or “mailoauth "
			  "import”."));
	for (guint i = 0; i < json_array_get_length(accounts); i++)
		mo_status_print_account(json_array_get_object_element(accounts, i), now);
}

int
mo_cmd_status(MoCli *cli, int argc, char **argv)
{
	gboolean as_json = FALSE;
	const GOptionEntry entries[] = {
		{"json", 0, 0, G_OPTION_ARG_NONE, &as_json, N_("Print JSON"), NULL},
		{NULL},
	};
	g_autoptr(JsonObject) report = json_object_new();
	JsonArray *accounts = json_array_new();
	gboolean locked = FALSE;
	GError *error = NULL;
	MoExitCode rc = MO_EXIT_OK;

	json_object_set_array_member(report, "accounts", accounts);
	if (!mo_cli_parse(cli,
			  "[ACCOUNT]",
			  _("Shows the accounts in the keyring: app, access-token expiry, refresh "
			    "token, last refresh; and whether the keyring is locked."),
			  entries,
			  &argc,
			  &argv,
			  0,
			  1,
			  &error))
		return mo_cli_fail(cli, NULL, error);
	if (!mo_status_collect(cli, argc > 1 ? argv[1] : NULL, accounts, &locked, &error)) {
		rc = mo_error_to_exit_code(error);
		json_object_set_string_member(report,
					      "keyring",
					      rc == MO_EXIT_KEYRING
						      ? (error->code == MO_ERROR_KEYRING_LOCKED
								 ? "locked"
								 : "unavailable")
						      : (locked ? "locked" : "unlocked"));
		json_object_set_string_member(report, "error", error->message);
		if (as_json)
			mo_status_print(report, TRUE);
		return mo_cli_fail(cli, NULL, error);
	}
	json_object_set_string_member(report, "keyring", locked ? "locked" : "unlocked");
	mo_status_print(report, as_json);
	return locked ? MO_EXIT_KEYRING : MO_EXIT_OK;
}
