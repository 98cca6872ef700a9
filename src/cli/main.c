/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <errno.h>
#include <glib/gi18n.h>
#include <locale.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>

#include "mo-cli.h"
#include "mo-curl.h"

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
	{"test", mo_cmd_test, N_("Log in to an IMAP or SMTP server with an account's token")},
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

/* Under LC_ALL=C (cron, bare systemd units) GLib would print our quotes and dashes as "?":
 * plain ASCII ones instead, and the rest in the locale's charset as GLib would. */
static void
mo_main_print_plain(FILE *out, const gchar *text)
{
	static const gchar *const pairs[][2] = {
		{"“", "\""},
		{"”", "\""},
		{"‘", "'"},
		{"’", "'"},
		{"—", "-"},
		{"–", "-"},
		{"…", "..."},
	};
	g_autoptr(GString) plain = g_string_new(text);
	g_autofree gchar *converted = NULL;
	const gchar *charset = NULL;

	for (guint i = 0; i < G_N_ELEMENTS(pairs); i++)
		g_string_replace(plain, pairs[i][0], pairs[i][1], 0);
	g_get_charset(&charset);
	converted =
		g_convert_with_fallback(plain->str, -1, charset, "UTF-8", "?", NULL, NULL, NULL);
	fputs(converted != NULL ? converted : plain->str, out);
	fflush(out);
}

static void
mo_main_print_stdout(const gchar *text)
{
	mo_main_print_plain(stdout, text);
}

static void
mo_main_print_stderr(const gchar *text)
{
	mo_main_print_plain(stderr, text);
}

static gboolean
mo_main_load_config(MoCli *cli)
{
	g_autofree gchar *path = mo_config_default_path();
	g_autoptr(GError) error = NULL;

	g_auto(GStrv) unknown = NULL;

	mo_config_init_defaults(&cli->config);
	if (!mo_config_load(&cli->config, path, &error)) {
		g_printerr("mailoauth: %s\n", error->message);
		return FALSE;
	}
	unknown = mo_config_unknown(path);
	for (guint i = 0; unknown[i] != NULL; i++) {
		g_autofree gchar *shown = mo_text_escape(unknown[i]);
		g_printerr(_("mailoauth: warning: %s has no setting “%s”; it is ignored (known: "
			     "[mailoauth] refresh-margin, keyring-timeout, http-connect-timeout, "
			     "http-timeout)\n"),
			   path,
			   shown);
	}
	return TRUE;
}

/* "tokne" → token: a command within two edits, or one the word starts. */
/* Levenshtein distance of two short words (command names), capped at 9. */
static guint
mo_main_distance(const gchar *a, const gchar *b)
{
	gsize la = MIN(strlen(a), 16), lb = MIN(strlen(b), 16);
	guint d[17][17];

	for (gsize i = 0; i <= la; i++)
		d[i][0] = (guint)i;
	for (gsize j = 0; j <= lb; j++)
		d[0][j] = (guint)j;
	for (gsize i = 1; i <= la; i++) {
		for (gsize j = 1; j <= lb; j++) {
			guint cost = a[i - 1] == b[j - 1] ? 0 : 1;
			d[i][j] =
				MIN(MIN(d[i - 1][j] + 1, d[i][j - 1] + 1), d[i - 1][j - 1] + cost);
		}
	}
	return MIN(d[la][lb], 9);
}

static const gchar *
mo_main_did_you_mean(const gchar *word)
{
	for (guint i = 0; i < G_N_ELEMENTS(commands); i++) {
		if (g_str_has_prefix(commands[i].name, word) && strlen(word) >= 2)
			return commands[i].name;
	}
	for (guint i = 0; i < G_N_ELEMENTS(commands); i++) {
		if (mo_main_distance(word, commands[i].name) <= 2)
			return commands[i].name;
	}
	return NULL;
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
	if (!g_get_charset(NULL)) {
		g_set_print_handler(mo_main_print_stdout);
		g_set_printerr_handler(mo_main_print_stderr);
	}

	if (argc < 2) {
		mo_main_usage(stderr);
		return MO_EXIT_USAGE;
	}
	/* "mailoauth help token" is "mailoauth token --help" */
	if (g_strcmp0(argv[1], "help") == 0 && argc == 3) {
		gchar *help_argv[] = {argv[0], argv[2], (gchar *)"--help", NULL};
		return main(3, help_argv);
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
		mo_curl_preload_finish();
		g_clear_pointer(&cli.keyring, mo_keyring_free);
		return rc;
	}
	{
		g_autofree gchar *shown = mo_text_escape(argv[1]);
		const gchar *guess = mo_main_did_you_mean(argv[1]);

		g_printerr(_("mailoauth: unknown command “%s”\n"), shown);
		if (guess != NULL)
			g_printerr(_("Did you mean “mailoauth %s”?\n"), guess);
	}
	mo_main_usage(stderr);
	return MO_EXIT_USAGE;
}
