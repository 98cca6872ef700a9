/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <errno.h>
#include <glib/gi18n.h>
#include <locale.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/resource.h>

#include "mo-cli.h"

static const struct {
	const gchar *name;
	MoCliCommandFunc func;
	const gchar *summary;
} commands[] = {
	{"authorize", mo_cmd_authorize, N_("Sign in and store an account's first token")},
	{"token", mo_cmd_token, N_("Print a fresh access token (for mbsync's PassCmd)")},
	{"refresh", mo_cmd_refresh, N_("Refresh an account's token now")},
	{"status", mo_cmd_status, N_("Show accounts, token expiry and the keyring's state")},
	{"import", mo_cmd_import, N_("Move a sasl-xoauth2 token file into the keyring")},
	{"app", mo_cmd_app, N_("Register, list or remove OAuth apps (client IDs)")},
	{"doctor", mo_cmd_doctor, N_("Check the keyring, the SASL plugin, accounts and exports")},
	{"export", mo_cmd_export, N_("Write a token file for postfix (through a root helper)")},
	{"forget", mo_cmd_forget, N_("Remove an account and its tokens from the keyring")},
};

static void
mo_main_usage(FILE *out)
{
	fprintf(out,
		"%s\n\n%s\n",
		_("Usage: mailoauth COMMAND [OPTION…] [ARGUMENT…]"),
		_("Commands:"));
	for (guint i = 0; i < G_N_ELEMENTS(commands); i++)
		fprintf(out, "  %-10s %s\n", commands[i].name, _(commands[i].summary));
	fprintf(out, "\n%s\n", _("Run “mailoauth COMMAND --help” for a command's options."));
}

/* The CLI holds tokens and client secrets in memory: a core dump would write them to disk
 * (or hand them to systemd-coredump, apport), and a non-dumpable process also keeps other
 * processes of the user from reading its memory through /proc. Only the CLI does this: the
 * SASL plugin runs inside mail programs, whose process is not ours to change. */
static void
mo_main_disable_core_dumps(void)
{
	const struct rlimit none = {0, 0};

	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0)
		g_debug("cannot make the process non-dumpable: %s", g_strerror(errno));
	if (setrlimit(RLIMIT_CORE, &none) != 0)
		g_debug("cannot disable core dumps: %s", g_strerror(errno));
}

static gboolean
mo_main_load_config(MoCli *cli)
{
	g_autofree gchar *path = mo_config_default_path();
	g_autoptr(GError) error = NULL;

	mo_config_init_defaults(&cli->config);
	if (!mo_config_load(&cli->config, path, &error)) {
		g_printerr("mailoauth: %s\n", error->message);
		return FALSE;
	}
	return TRUE;
}

int
main(int argc, char **argv)
{
	MoCli cli = {0};
	int rc;

	/* before anything is read: a secret may come with the first prompt or keyring read */
	mo_main_disable_core_dumps();
	setlocale(LC_ALL, "");
	bindtextdomain(GETTEXT_PACKAGE, LOCALEDIR);
	bind_textdomain_codeset(GETTEXT_PACKAGE, "UTF-8");
	textdomain(GETTEXT_PACKAGE);

	if (argc < 2) {
		mo_main_usage(stderr);
		return MO_EXIT_USAGE;
	}
	if (g_strcmp0(argv[1], "--help") == 0 || g_strcmp0(argv[1], "-h") == 0 ||
	    g_strcmp0(argv[1], "help") == 0) {
		mo_main_usage(stdout);
		return MO_EXIT_OK;
	}
	if (g_strcmp0(argv[1], "--version") == 0) {
		g_print("mailoauth %s\n", PACKAGE_VERSION);
		return MO_EXIT_OK;
	}
	for (guint i = 0; i < G_N_ELEMENTS(commands); i++) {
		if (g_strcmp0(argv[1], commands[i].name) != 0)
			continue;
		if (!mo_main_load_config(&cli))
			return MO_EXIT_FAILURE;
		cli.command = commands[i].name;
		rc = commands[i].func(&cli, argc - 1, argv + 1);
		g_clear_pointer(&cli.keyring, mo_keyring_free);
		return rc;
	}
	g_printerr(_("mailoauth: unknown command “%s”\n"), argv[1]);
	mo_main_usage(stderr);
	return MO_EXIT_USAGE;
}
