/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <glib/gi18n.h>

#include "mo-cli.h"
#include "mo-json.h"

/* A string for the report, or null; error messages may quote bytes that are not UTF-8. */
static MoJson *
mo_status_string_new(const gchar *text)
{
	g_autofree gchar *valid = NULL;

	if (text == NULL)
		return mo_json_new_null();
	valid = g_utf8_make_valid(text, -1);
	return mo_json_new_string(valid);
}

/* A whole number of the report, or 0 when it is null. */
static gint64
mo_status_get_int(const MoJson *obj, const gchar *member)
{
	const gchar *text = mo_json_get_number_text(mo_json_object_get(obj, member));

	return text != NULL ? g_ascii_strtoll(text, NULL, 10) : 0;
}

/* One account as status shows it; never includes a token. */
static MoJson *
mo_status_account_json(const MoAccount *account, gint64 now, gint64 margin)
{
	MoJson *obj = mo_json_new_object();
	const MoToken *token = account->token;
	gboolean has_expiry = token->expiry > 0;

	mo_json_object_set(obj, "account", mo_status_string_new(account->name));
	mo_json_object_set(obj, "user", mo_status_string_new(account->user));
	mo_json_object_set(obj, "app", mo_status_string_new(account->app));
	mo_json_object_set(obj,
			   "expiry",
			   has_expiry ? mo_json_new_int(token->expiry) : mo_json_new_null());
	mo_json_object_set(obj,
			   "expires_in",
			   has_expiry ? mo_json_new_int(token->expiry - now) : mo_json_new_null());
	mo_json_object_set(obj,
			   "fresh",
			   mo_json_new_boolean(mo_token_is_fresh(token, now, margin)));
	mo_json_object_set(obj, "refresh_token", mo_json_new_boolean(token->refresh_token != NULL));
	mo_json_object_set(obj, "scope", mo_status_string_new(token->scope));
	mo_json_object_set(obj, "needs_sign_in", mo_json_new_boolean(account->needs_sign_in));
	mo_json_object_set(obj,
			   "last_refresh",
			   token->last_refresh > 0 ? mo_json_new_int(token->last_refresh)
						   : mo_json_new_null());
	return obj;
}

/* A string member as a terminal may show it: names and the user come from the keyring, where
 * any program (or an imported file) may have put control characters. */
static gchar *
mo_status_dup_shown(const MoJson *obj, const gchar *member)
{
	return mo_text_escape(mo_json_get_string_value(mo_json_object_get(obj, member)));
}

static void
mo_status_print_account(const MoJson *obj, gint64 now)
{
	g_autofree gchar *account = mo_status_dup_shown(obj, "account");
	g_autofree gchar *user = mo_status_dup_shown(obj, "user");
	g_autofree gchar *app = mo_status_dup_shown(obj, "app");
	g_autofree gchar *scope = mo_status_dup_shown(obj, "scope");
	g_autofree gchar *expiry = NULL;
	g_autofree gchar *refreshed = NULL;

	expiry = mo_cli_format_expiry(mo_status_get_int(obj, "expiry"), now);
	refreshed = mo_cli_format_time(mo_status_get_int(obj, "last_refresh"), now);
	g_print("%s\n", account != NULL ? account : "");
	g_print("  %-14s %s\n", _("user:"), user != NULL ? user : "");
	g_print("  %-14s %s\n", _("app:"), app != NULL ? app : _("(none)"));
	g_print("  %-14s %s%s\n",
		_("access token:"),
		expiry,
		mo_json_get_boolean(mo_json_object_get(obj, "fresh"))
			? ""
			: _(" — will be refreshed on use"));
	if (scope != NULL)
		g_print("  %-14s %s\n", _("scopes:"), scope);
	if (mo_json_get_boolean(mo_json_object_get(obj, "needs_sign_in")))
		g_print(_("  %-14s refused by the provider: sign in again with “mailoauth "
			  "authorize %s”\n"),
			_("refresh token:"),
			account != NULL ? account : "");
	else
		g_print("  %-14s %s\n",
			_("refresh token:"),
			mo_json_get_boolean(mo_json_object_get(obj, "refresh_token"))
				? _("present")
				: _("missing"));
	g_print("  %-14s %s\n",
		_("last refresh:"),
		mo_status_get_int(obj, "last_refresh") > 0 ? refreshed : _("never (by mailoauth)"));
}

/* Collects the accounts (all, or just @only) into @accounts. */
static gboolean
mo_status_collect(MoCli *cli, const gchar *only, MoJson *accounts, gboolean *locked, GError **error)
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
		mo_json_array_add(accounts,
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

/* Accounts exported for postfix (mailoauth export), from their status files; none when
 * there is no postfix or no export, which is not an error of "status". */
static void
mo_status_collect_exports(const gchar *only, MoJson *report, GPtrArray **out)
{
	g_autoptr(GError) error_local = NULL;
	g_autoptr(GPtrArray) exports = mo_cli_read_exports(&error_local);
	g_autoptr(GPtrArray) kept =
		g_ptr_array_new_with_free_func((GDestroyNotify)mo_export_status_free);
	MoJson *array = mo_json_new_array();

	mo_json_object_set(report, "exports", array);
	if (exports == NULL) {
		g_debug("no exports: %s", error_local != NULL ? error_local->message : "?");
		*out = g_steal_pointer(&kept);
		return;
	}
	for (guint i = 0; i < exports->len; i++) {
		MoExportStatus *status = g_ptr_array_index(exports, i);
		MoJson *obj;

		if (only != NULL && g_strcmp0(only, status->account) != 0)
			continue;
		obj = mo_json_new_object();
		mo_json_set_string(obj, "account", status->account);
		mo_json_set_string(obj, "path", status->path);
		mo_json_set_int64(obj, "expiry", status->expiry);
		mo_json_set_int64(obj, "last_refresh", status->last_refresh);
		mo_json_set_string(obj, "last_error", status->last_error);
		mo_json_object_set(obj,
				   "needs_sign_in",
				   mo_json_new_boolean(status->needs_sign_in));
		mo_json_array_add(array, obj);
		/* moved to kept; the free function of exports skips NULL */
		g_ptr_array_add(kept, status);
		exports->pdata[i] = NULL;
	}
	*out = g_steal_pointer(&kept);
}

static void
mo_status_print_exports(GPtrArray *exports, gint64 now)
{
	if (exports->len == 0)
		return;
	g_print("%s\n", _("Exported for postfix:"));
	for (guint i = 0; i < exports->len; i++)
		mo_cli_print_export(g_ptr_array_index(exports, i), now);
}

static void
mo_status_print(const MoJson *report, gboolean as_json)
{
	const MoJson *accounts = mo_json_object_get(report, "accounts");
	gint64 now = g_get_real_time() / G_USEC_PER_SEC;
	g_autofree gchar *text = NULL;

	if (as_json) {
		text = mo_json_to_string(report, TRUE);
		g_print("%s\n", text);
		return;
	}
	g_print(_("keyring: %s\n"),
		mo_json_get_string_value(mo_json_object_get(report, "keyring")));
	if (mo_json_array_length(accounts) == 0)
		g_print("%s\n",
			_("No accounts; add one with “mailoauth authorize” or “mailoauth "
			  "import”."));
	for (guint i = 0; i < mo_json_array_length(accounts); i++)
		mo_status_print_account(mo_json_array_get(accounts, i), now);
}

int
mo_cmd_status(MoCli *cli, int argc, char **argv)
{
	gboolean as_json = FALSE;
	const GOptionEntry entries[] = {
		{"json", 0, 0, G_OPTION_ARG_NONE, &as_json, N_("Print JSON"), NULL},
		{NULL},
	};
	g_autoptr(MoJson) report = mo_json_new_object();
	MoJson *accounts = mo_json_new_array();
	g_autoptr(GPtrArray) exports = NULL;
	gboolean locked = FALSE;
	GError *error = NULL;
	MoExitCode rc = MO_EXIT_OK;

	/* the report owns the array; accounts stays valid as long as it lives */
	mo_json_object_set(report, "accounts", accounts);
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
	if (argc > 1 && !mo_account_name_is_valid(argv[1], &error))
		return mo_cli_fail(cli, NULL, error);
	if (!mo_status_collect(cli, argc > 1 ? argv[1] : NULL, accounts, &locked, &error)) {
		rc = mo_error_to_exit_code(error);
		mo_json_set_string(report,
				   "keyring",
				   rc == MO_EXIT_KEYRING ? (error->code == MO_ERROR_KEYRING_LOCKED
								    ? "locked"
								    : "unavailable")
							 : (locked ? "locked" : "unlocked"));
		mo_json_object_set(report, "error", mo_status_string_new(error->message));
		if (as_json)
			mo_status_print(report, TRUE);
		return mo_cli_fail(cli, NULL, error);
	}
	mo_json_set_string(report, "keyring", locked ? "locked" : "unlocked");
	mo_status_collect_exports(argc > 1 ? argv[1] : NULL, report, &exports);
	mo_status_print(report, as_json);
	if (!as_json)
		mo_status_print_exports(exports, g_get_real_time() / G_USEC_PER_SEC);
	return locked ? MO_EXIT_KEYRING : MO_EXIT_OK;
}
