/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <glib/gi18n.h>
#include <stdio.h>

#include "mo-cli.h"
#include "mo-curl.h"
#include "mo-refresh.h"

/* Fresh token of @account from the keyring, refreshed (and stored) first if needed. */
MoToken *
mo_cli_get_token(MoCli *cli,
		 const gchar *account,
		 gboolean force,
		 gboolean *refreshed,
		 GError **error)
{
	MoRefreshOptions options = {
		.margin = cli->config.refresh_margin,
		.force = force,
		.http = cli->config.http,
		.warn = mo_cli_warn,
		.warn_data = (gpointer)account,
		.before_request = mo_curl_preload,
	};
	g_autoptr(MoTokenStore) store = NULL;
	MoKeyring *keyring;

	/* before it reaches the keyring, a lock file's name or a message (token, refresh) */
	if (!mo_account_name_is_valid(account, error))
		return NULL;
	keyring = mo_cli_get_keyring(cli, error);
	if (keyring == NULL)
		return NULL;
	store = mo_keyring_token_store_new(keyring, account);
	return mo_refresh_get_token(store, &options, refreshed, error);
}

int
mo_cmd_token(MoCli *cli, int argc, char **argv)
{
	g_autoptr(MoToken) token = NULL;
	GError *error = NULL;

	if (!mo_cli_parse(cli,
			  "ACCOUNT",
			  _("Prints a fresh access token of ACCOUNT and a newline, refreshing it "
			    "first when it expires within the refresh margin. Use it as mbsync's "
			    "PassCmd."),
			  NULL,
			  &argc,
			  &argv,
			  1,
			  1,
			  &error))
		return mo_cli_fail(cli, NULL, error);
	token = mo_cli_get_token(cli, argv[1], FALSE, NULL, &error);
	if (token == NULL)
		return mo_cli_fail(cli, argv[1], error);
	/* stdout carries the token and nothing else */
	if (fputs(token->access_token, stdout) < 0 || fputc('\n', stdout) < 0 ||
	    fflush(stdout) != 0) {
		g_printerr(_("mailoauth token: cannot write the token to standard output\n"));
		return MO_EXIT_FAILURE;
	}
	return MO_EXIT_OK;
}
