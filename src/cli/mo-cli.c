/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <glib/gi18n.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "mo-cli.h"
#include "mo-lock.h"
#include "mo-secure.h"

#define MO_CLI_SECRET_MAX 4096

/* The account's refresh lock, for commands that replace or delete its item: a refresh in
 * flight would otherwise write the old grant back over it. Bounded like a refresh's wait. */
MoLock *
mo_cli_lock_account(MoCli *cli, const gchar *name, GError **error)
{
	g_autofree gchar *path = mo_lock_path_for_account(name);
	guint wait = cli->config.http.timeout * 3 + 30;

	return mo_lock_acquire_within(path, wait, error);
}

MoKeyring *
mo_cli_get_keyring(MoCli *cli, GError **error)
{
	if (cli->keyring == NULL)
		cli->keyring = mo_keyring_open(cli->config.keyring_timeout, error);
	return cli->keyring;
}

/* Parses the options of one subcommand (@entries, then @more_entries, both nullable); the
 * remaining arguments are left in argv[1..]. */
gboolean
mo_cli_parse_with(MoCli *cli,
		  const gchar *params,
		  const gchar *summary,
		  const GOptionEntry *entries,
		  const GOptionEntry *more_entries,
		  int *argc,
		  char ***argv,
		  int min_args,
		  int max_args,
		  GError **error)
{
	g_autoptr(GOptionContext) context = g_option_context_new(params);
	g_autofree gchar *prgname = g_strdup_printf("mailoauth %s", cli->command);
	g_autoptr(GError) error_local = NULL;
	int nargs;

	g_set_prgname(prgname);
	g_option_context_set_translation_domain(context, GETTEXT_PACKAGE);
	g_option_context_set_summary(context, summary);
	if (entries != NULL)
		g_option_context_add_main_entries(context, entries, GETTEXT_PACKAGE);
	if (more_entries != NULL)
		g_option_context_add_main_entries(context, more_entries, GETTEXT_PACKAGE);
	if (!g_option_context_parse(context, argc, argv, &error_local)) {
		if (error_local != NULL && error_local->domain == G_OPTION_ERROR) {
			/* GLib says "Unknown option --jsn" and no more */
			g_set_error(error,
				    G_OPTION_ERROR,
				    error_local->code,
				    _("%s (see “mailoauth %s --help”)"),
				    error_local->message,
				    cli->command);
			return FALSE;
		}
		/* an option's value that is not text in the locale's charset comes back as a
		 * G_CONVERT_ERROR; it is a usage error all the same (exit 2), not a failure */
		g_set_error(error,
			    G_OPTION_ERROR,
			    G_OPTION_ERROR_BAD_VALUE,
			    _("An option's value is not text in the locale's character set (%s)"),
			    error_local != NULL ? error_local->message : "?");
		return FALSE;
	}
	nargs = *argc - 1;
	if (nargs < min_args || nargs > max_args) {
		g_set_error(error,
			    G_OPTION_ERROR,
			    G_OPTION_ERROR_FAILED,
			    nargs < min_args ? _("Missing argument: %s (see “mailoauth %s --help”)")
					     : _("Too many arguments (expected %s; see “mailoauth "
						 "%s --help”)"),
			    params,
			    cli->command);
		return FALSE;
	}
	return TRUE;
}

gboolean
mo_cli_parse(MoCli *cli,
	     const gchar *params,
	     const gchar *summary,
	     const GOptionEntry *entries,
	     int *argc,
	     char ***argv,
	     int min_args,
	     int max_args,
	     GError **error)
{
	return mo_cli_parse_with(cli,
				 params,
				 summary,
				 entries,
				 NULL,
				 argc,
				 argv,
				 min_args,
				 max_args,
				 error);
}

static void
mo_cli_print_hint(MoExitCode code, const gchar *account)
{
	switch (code) {
	case MO_EXIT_REAUTHORIZE:
		g_printerr(
			_("The provider no longer accepts the sign-in of %s. Sign in again with "
			  "“mailoauth authorize %s” (it reuses the account's app); the old token "
			  "was kept until then.\n"),
			account,
			account);
		break;
	case MO_EXIT_TEMPFAIL:
		g_printerr(_("This looks temporary (network or provider); try again later. The "
			     "stored token of %s is unchanged.\n"),
			   account);
		break;
	case MO_EXIT_CLIENT:
		g_printerr(_("The provider refused the client ID or secret of the app of %s (see "
			     "“mailoauth status %s”): signing in again cannot fix that. Check them "
			     "in the provider's portal and register the app again with “mailoauth "
			     "app add APP … --force”.\n"),
			   account,
			   account);
		break;
	default:
		break;
	}
}

/* A refresh's warning (a token kept for now, a journaled answer), as the CLI prints them. */
void
mo_cli_warn(const gchar *message, gpointer user_data)
{
	/* the message may quote the provider */
	g_autofree gchar *shown = mo_text_escape(message);

	g_printerr(_("mailoauth: warning: %s\n"), shown);
}

/* Reports @error on stderr, with what to do next, and returns the exit code for it. */
int
mo_cli_fail(MoCli *cli, const gchar *account, GError *error)
{
	MoExitCode code;
	g_autofree gchar *message = NULL;
	g_autofree gchar *shown_account = NULL;

	/* a failure without a reason is a bug somewhere below; it must still not crash or exit 0 */
	if (error == NULL) {
		g_printerr(_("mailoauth %s: failed without saying why\n"), cli->command);
		return MO_EXIT_FAILURE;
	}
	code = mo_error_to_exit_code(error);
	/* messages quote names, files and providers: the one place they reach the terminal */
	message = mo_text_escape(error->message);
	shown_account = mo_text_escape(account);
	g_printerr("mailoauth %s: %s\n", cli->command, message);
	if (account != NULL)
		mo_cli_print_hint(code, shown_account);
	g_error_free(error);
	return code;
}

/* For g_ptr_array_sort() of strings. */
gint
mo_cli_compare_paths(gconstpointer a, gconstpointer b)
{
	return g_strcmp0(*(const gchar *const *)a, *(const gchar *const *)b);
}

gchar *
mo_cli_format_time(gint64 when, gint64 now)
{
	g_autoptr(GDateTime) dt = NULL;
	g_autofree gchar *date = NULL;
	gint64 left = when - now;

	if (when <= 0)
		return g_strdup(_("unknown"));
	dt = g_date_time_new_from_unix_local(when);
	date = dt != NULL ? g_date_time_format(dt, "%Y-%m-%d %H:%M:%S") : g_strdup("?");
	if (left > 0 && left < 120)
		return g_strdup_printf(_("%s (in %lld s)"), date, (long long)left);
	if (left > 0)
		return g_strdup_printf(_("%s (in %lld min)"), date, (long long)(left / 60));
	if (-left < 120)
		return g_strdup_printf(_("%s (%lld s ago)"), date, (long long)-left);
	return g_strdup_printf(_("%s (%lld min ago)"), date, (long long)(-left / 60));
}

/* An access token's expiry as a user reads it: "valid until …" or, once past, "expired …"
 * (not "valid until … (60 s ago)"). */
gchar *
mo_cli_format_expiry(gint64 expiry, gint64 now)
{
	g_autofree gchar *when = mo_cli_format_time(expiry, now);

	if (expiry <= 0)
		return g_steal_pointer(&when);
	if (expiry > now)
		return g_strdup_printf(_("valid until %s"), when);
	return g_strdup_printf(_("expired %s"), when);
}

static gboolean
mo_cli_read_line(int fd, gchar *buf, gsize size)
{
	gsize len = 0;

	while (len + 1 < size) {
		gchar c;
		ssize_t n = read(fd, &c, 1);
		if (n < 0)
			return FALSE;
		if (n == 0 || c == '\n')
			break;
		buf[len++] = c;
	}
	if (len > 0 && buf[len - 1] == '\r')
		len--;
	buf[len] = '\0';
	return TRUE;
}

static volatile sig_atomic_t mo_cli_interrupted = 0;

static void
mo_cli_on_sigint(int signum)
{
	mo_cli_interrupted = 1;
}

/* Ctrl-C at a prompt interrupts read() (no SA_RESTART), so the terminal can be restored
 * and the command end as cancelled (exit 130). */
static void
mo_cli_catch_sigint(struct sigaction *old_action)
{
	struct sigaction sa = {.sa_handler = mo_cli_on_sigint};

	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, old_action);
}

/* A line typed or piped in, at most @max bytes; @echo FALSE hides it on a terminal. */
static gchar *
mo_cli_read_input(const gchar *prompt, gsize max, gboolean echo, GError **error)
{
	g_autofree gchar *buf = g_malloc0(max + 1);
	struct termios saved, quiet;
	struct sigaction old_action;
	gboolean tty = isatty(STDIN_FILENO);
	gboolean ok;
	gchar *line;

	/* Ctrl-C caught and echo off before the prompt shows: a quick Ctrl-C or early keys
	 * typed at the prompt must find both in place */
	mo_cli_catch_sigint(&old_action);
	if (tty) {
		tcgetattr(STDIN_FILENO, &saved);
		quiet = saved;
		if (!echo)
			quiet.c_lflag &= ~(tcflag_t)ECHO;
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
		g_printerr("%s", prompt);
	}
	ok = mo_cli_read_line(STDIN_FILENO, buf, max + 1);
	sigaction(SIGINT, &old_action, NULL);
	if (tty) {
		/* also after Ctrl-C: never leave the terminal without echo */
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved);
		if (!echo)
			g_printerr("\n");
	}
	if (mo_cli_interrupted) {
		mo_secure_wipe(buf, max + 1);
		g_set_error(error, MO_ERROR, MO_ERROR_CANCELLED, _("Cancelled"));
		return NULL;
	}
	if (!ok || buf[0] == '\0') {
		mo_secure_wipe(buf, max + 1);
		g_set_error(error,
			    MO_ERROR,
			    MO_ERROR_INVALID_ARGUMENT,
			    _("Nothing was given on standard input"));
		return NULL;
	}
	/* it goes into a JSON document, which holds UTF-8 text only; never quoted back */
	if (!g_utf8_validate(buf, -1, NULL)) {
		mo_secure_wipe(buf, max + 1);
		g_set_error(error,
			    MO_ERROR,
			    MO_ERROR_INVALID_ARGUMENT,
			    _("What was given on standard input is not UTF-8 text"));
		return NULL;
	}
	line = g_strdup(buf);
	mo_secure_wipe(buf, max + 1);
	return line;
}

/* A secret never comes from argv (other users see it in ps): from a no-echo prompt on a
 * terminal, else the first line of stdin. */
gchar *
mo_cli_read_secret(const gchar *prompt, GError **error)
{
	return mo_cli_read_input(prompt, MO_CLI_SECRET_MAX, FALSE, error);
}

gchar *
mo_cli_read_line_prompt(const gchar *prompt, gsize max, GError **error)
{
	return mo_cli_read_input(prompt, max, TRUE, error);
}
