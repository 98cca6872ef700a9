/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <glib/gi18n.h>
#include <stdio.h>

#include "mo-cli.h"
#include "mo-json.h"
#include "mo-secure.h"

static void
mo_app_add_report(const MoApp *app)
{
	/* the name was checked; the client ID is as given */
	g_autofree gchar *client_id = mo_text_escape(app->client_id);

	g_printerr(_("Registered app %s (%s, client ID %s%s).\n"),
		   app->name,
		   mo_provider_to_string(app->provider),
		   client_id,
		   app->client_secret != NULL ? _(", with client secret") : "");
}

static int
mo_app_add(MoCli *cli, int argc, char **argv)
{
	MoAppOptions opts = {NULL};
	GOptionEntry entries[MO_APP_OPTION_ENTRIES + 1];
	g_autoptr(MoApp) app = NULL;
	MoKeyring *keyring;
	GError *error = NULL;
	int rc = MO_EXIT_OK;

	mo_cli_app_option_entries(&opts, entries);
	if (!mo_cli_parse(cli,
			  "NAME",
			  _("Registers an OAuth app (client) under NAME. Secrets are never taken "
			    "from the command line: --secret reads it."),
			  entries,
			  &argc,
			  &argv,
			  1,
			  1,
			  &error) ||
	    !mo_account_name_is_valid(argv[1], &error) ||
	    (app = mo_cli_app_build(cli, argv[1], &opts, &error)) == NULL ||
	    (keyring = mo_cli_get_keyring(cli, &error)) == NULL ||
	    !mo_keyring_save_app(keyring, app, &error))
		rc = mo_cli_fail(cli, NULL, error);
	else
		mo_app_add_report(app);
	mo_cli_app_options_clear(&opts);
	return rc;
}

/* One line of "app list". All of it comes from the keyring, where any program may have put
 * control characters, so it is escaped. */
static void
mo_app_list_print(const MoKeyringEntry *entry)
{
	g_autofree gchar *name = mo_text_escape(entry->name != NULL ? entry->name : "");
	g_autoptr(MoApp) app = NULL;
	g_autoptr(GError) error_local = NULL;
	g_autofree gchar *client_id = NULL;
	g_autofree gchar *endpoint = NULL;

	if (entry->locked) {
		g_print("%-20s %s\n", name, _("(locked)"));
		return;
	}
	app = mo_app_from_json(entry->json, entry->name, &error_local);
	if (app == NULL) {
		g_autofree gchar *message = mo_text_escape(error_local->message);
		g_print("%-20s %s\n", name, message);
		return;
	}
	client_id = mo_text_escape(app->client_id != NULL ? app->client_id : "");
	endpoint = mo_text_escape(app->token_endpoint != NULL ? app->token_endpoint : "");
	g_print("%-20s %-10s %-38s %-6s %s\n",
		name,
		mo_provider_to_string(app->provider),
		client_id,
		app->client_secret != NULL ? _("yes") : _("no"),
		endpoint);
}

/* A string of "app list --json", or null; keyring attributes may hold bytes that are not UTF-8. */
static MoJson *
mo_app_list_string_new(const gchar *text)
{
	g_autofree gchar *valid = NULL;

	if (text == NULL)
		return mo_json_new_null();
	valid = g_utf8_make_valid(text, -1);
	return mo_json_new_string(valid);
}

/* One app of "app list --json" (shell completions read the names): whether it has a client
 * secret, never the secret. */
static MoJson *
mo_app_list_json(const MoKeyringEntry *entry)
{
	MoJson *obj = mo_json_new_object();
	g_autoptr(MoApp) app = NULL;
	g_autoptr(GError) error_local = NULL;

	mo_json_object_set(obj, "app", mo_app_list_string_new(entry->name));
	if (entry->locked) {
		mo_json_object_set(obj, "locked", mo_json_new_boolean(TRUE));
		return obj;
	}
	app = mo_app_from_json(entry->json, entry->name, &error_local);
	if (app == NULL) {
		mo_json_object_set(obj, "error", mo_app_list_string_new(error_local->message));
		return obj;
	}
	mo_json_object_set(obj,
			   "provider",
			   mo_app_list_string_new(mo_provider_to_string(app->provider)));
	mo_json_object_set(obj, "client_id", mo_app_list_string_new(app->client_id));
	mo_json_object_set(obj, "secret", mo_json_new_boolean(app->client_secret != NULL));
	mo_json_object_set(obj, "token_endpoint", mo_app_list_string_new(app->token_endpoint));
	return obj;
}

static void
mo_app_list_print_json(GPtrArray *entries)
{
	g_autoptr(MoJson) report = mo_json_new_object();
	MoJson *apps = mo_json_new_array();
	g_autofree gchar *text = NULL;

	mo_json_object_set(report, "apps", apps);
	for (guint i = 0; i < entries->len; i++)
		mo_json_array_add(apps, mo_app_list_json(g_ptr_array_index(entries, i)));
	text = mo_json_to_string(report, TRUE);
	g_print("%s\n", text);
}

static int
mo_app_list(MoCli *cli, int argc, char **argv)
{
	gboolean as_json = FALSE;
	const GOptionEntry entries_opt[] = {
		{"json", 0, 0, G_OPTION_ARG_NONE, &as_json, N_("Print JSON"), NULL},
		{NULL},
	};
	g_autoptr(GPtrArray) entries = NULL;
	MoKeyring *keyring;
	GError *error = NULL;

	if (!mo_cli_parse(cli,
			  "",
			  _("Lists the registered apps."),
			  entries_opt,
			  &argc,
			  &argv,
			  0,
			  0,
			  &error))
		return mo_cli_fail(cli, NULL, error);
	keyring = mo_cli_get_keyring(cli, &error);
	if (keyring == NULL || (entries = mo_keyring_list(keyring, MO_KEYRING_APP, &error)) == NULL)
		return mo_cli_fail(cli, NULL, error);
	if (as_json) {
		mo_app_list_print_json(entries);
		return MO_EXIT_OK;
	}
	g_print("%-20s %-10s %-38s %-6s %s\n",
		_("NAME"),
		_("PROVIDER"),
		_("CLIENT-ID"),
		_("SECRET"),
		_("TOKEN-ENDPOINT"));
	for (guint i = 0; i < entries->len; i++)
		mo_app_list_print(g_ptr_array_index(entries, i));
	return MO_EXIT_OK;
}

/* Names of the accounts whose item says they use @app. */
static GPtrArray *
mo_app_users(MoKeyring *keyring, const gchar *app, GError **error)
{
	g_autoptr(GPtrArray) entries = mo_keyring_list(keyring, MO_KEYRING_ACCOUNT, error);
	g_autoptr(GPtrArray) users = g_ptr_array_new_with_free_func(g_free);

	if (entries == NULL)
		return NULL;
	for (guint i = 0; i < entries->len; i++) {
		MoKeyringEntry *entry = g_ptr_array_index(entries, i);
		g_autoptr(MoAccount) account = NULL;
		if (entry->json == NULL)
			continue;
		account = mo_account_from_json(entry->json, entry->name, NULL);
		if (account != NULL && g_strcmp0(account->app, app) == 0)
			g_ptr_array_add(users, g_strdup(entry->name));
	}
	g_ptr_array_add(users, NULL);
	return g_steal_pointer(&users);
}

static int
mo_app_remove(MoCli *cli, int argc, char **argv)
{
	gboolean force = FALSE;
	const GOptionEntry entries[] = {
		{"force",
		 'f',
		 0,
		 G_OPTION_ARG_NONE,
		 &force,
		 N_("Remove even if accounts still use the app"),
		 NULL},
		{NULL},
	};
	g_autoptr(GPtrArray) users = NULL;
	g_autofree gchar *names = NULL;
	MoKeyring *keyring;
	GError *error = NULL;

	if (!mo_cli_parse(cli,
			  "NAME",
			  _("Removes a registered app and its client secret."),
			  entries,
			  &argc,
			  &argv,
			  1,
			  1,
			  &error))
		return mo_cli_fail(cli, NULL, error);
	if (!mo_account_name_is_valid(argv[1], &error))
		return mo_cli_fail(cli, NULL, error);
	keyring = mo_cli_get_keyring(cli, &error);
	if (keyring == NULL || (users = mo_app_users(keyring, argv[1], &error)) == NULL)
		return mo_cli_fail(cli, NULL, error);
	if (users->len > 1 && !force) {
		/* the names come from the keyring's attributes, which any program may set */
		g_autofree gchar *joined = g_strjoinv(", ", (gchar **)users->pdata);
		names = mo_text_escape(joined);
		g_printerr(_("mailoauth app: app %s is used by %s; their tokens could no longer "
			     "be refreshed. Forget those accounts first, or use --force.\n"),
			   argv[1],
			   names);
		return MO_EXIT_FAILURE;
	}
	if (!mo_keyring_delete(keyring, MO_KEYRING_APP, argv[1], &error))
		return mo_cli_fail(cli, NULL, error);
	g_printerr(_("Removed app %s.\n"), argv[1]);
	return MO_EXIT_OK;
}

int
mo_cmd_app(MoCli *cli, int argc, char **argv)
{
	static const struct {
		const gchar *name;
		const gchar *command;
		MoCliCommandFunc func;
	} subcommands[] = {
		{"add", "app add", mo_app_add},
		{"list", "app list", mo_app_list},
		{"remove", "app remove", mo_app_remove},
	};

	for (guint i = 0; argc >= 2 && i < G_N_ELEMENTS(subcommands); i++) {
		if (g_strcmp0(argv[1], subcommands[i].name) == 0) {
			cli->command = subcommands[i].command;
			return subcommands[i].func(cli, argc - 1, argv + 1);
		}
	}
	g_printerr("%s\n",
		   _("Usage: mailoauth app add|list|remove … (see “mailoauth app add "
		     "--help”)"));
	return argc >= 2 && (g_strcmp0(argv[1], "--help") == 0 || g_strcmp0(argv[1], "-h") == 0)
		       ? MO_EXIT_OK
		       : MO_EXIT_USAGE;
}
