/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <glib/gi18n.h>

#include "mo-cli.h"

int
mo_cmd_forget(MoCli *cli, int argc, char **argv)
{
	g_autoptr(MoLock) lock = NULL;
	MoKeyring *keyring;
	GError *error = NULL;

	if (!mo_cli_parse(cli,
			  "ACCOUNT",
			  _("Deletes ACCOUNT and its tokens from the keyring. The app stays; the "
			    "grant at the provider is not revoked."),
			  NULL,
			  &argc,
			  &argv,
			  1,
			  1,
			  &error))
		return mo_cli_fail(cli, NULL, error);
	if (!mo_account_name_is_valid(argv[1], &error))
		return mo_cli_fail(cli, NULL, error);
	keyring = mo_cli_get_keyring(cli, &error);
	if (keyring == NULL || (lock = mo_cli_lock_account(cli, argv[1], &error)) == NULL ||
	    !mo_keyring_delete(keyring, MO_KEYRING_ACCOUNT, argv[1], &error))
		return mo_cli_fail(cli, argv[1], error);
	g_printerr(_("Removed %s from the keyring.\n"), argv[1]);
	return MO_EXIT_OK;
}
