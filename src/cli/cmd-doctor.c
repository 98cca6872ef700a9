/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <glib/gi18n.h>

#include "mo-cli-sasl.h"
#include "mo-cli.h"
#include "mo-json.h"

/* "mailoauth doctor": what breaks setups in the field, each finding with its fix. This first
 * version checks the keyring, which SASL plugin libsasl2 gives mail programs for XOAUTH2 and
 * OAUTHBEARER, the accounts' refresh tokens and the exports for postfix. */

typedef struct {
	gboolean ok;
	gchar *check; /* what was looked at */
	gchar *found; /* what was found */
	gchar *fix;   /* (nullable) what to do */
} MoFinding;

static void
mo_finding_free(MoFinding *finding)
{
	g_free(finding->check);
	g_free(finding->found);
	g_free(finding->fix);
	g_free(finding);
}

static void
mo_doctor_add(GPtrArray *findings, gboolean ok, const gchar *check, gchar *found, gchar *fix)
{
	MoFinding *finding = g_new0(MoFinding, 1);

	finding->ok = ok;
	finding->check = g_strdup(check);
	finding->found = found;
	finding->fix = fix;
	g_ptr_array_add(findings, finding);
}

static void
mo_doctor_keyring(MoCli *cli, GPtrArray *findings)
{
	g_autoptr(GError) error_local = NULL;
	MoKeyring *keyring = mo_cli_get_keyring(cli, &error_local);
	gboolean locked = FALSE;

	if (keyring != NULL)
		locked = mo_keyring_is_locked(keyring, &error_local);
	if (error_local != NULL) {
		mo_doctor_add(findings,
			      FALSE,
			      _("keyring"),
			      mo_text_escape(error_local->message),
			      g_strdup(_("run mailoauth in your desktop session, where the Secret "
					 "Service (gnome-keyring, KWallet, KeePassXC) runs")));
		return;
	}
	if (locked) {
		mo_doctor_add(findings,
			      FALSE,
			      _("keyring"),
			      g_strdup(_("the default collection is locked")),
			      g_strdup(_("unlock it, and have it unlocked at login (GNOME: "
					 "pam_gnome_keyring; KDE: pam_kwallet5)")));
		return;
	}
	mo_doctor_add(findings, TRUE, _("keyring"), g_strdup(_("reachable and unlocked")), NULL);
}

/* For @mech: is ours there, and is it the one libsasl2 uses (the first it lists)? */
static void
mo_doctor_sasl_mech(GPtrArray *plugins, const gchar *mech, GPtrArray *findings)
{
	g_autofree gchar *check = g_strdup_printf(_("SASL plugin for %s"), mech);
	g_autoptr(GString) all = g_string_new(NULL);
	const MoCliSaslPlugin *first = NULL;
	gboolean ours = FALSE;

	for (guint i = 0; i < plugins->len; i++) {
		const MoCliSaslPlugin *plugin = g_ptr_array_index(plugins, i);
		if (g_strcmp0(plugin->mech, mech) != 0)
			continue;
		if (first == NULL)
			first = plugin;
		ours = ours || g_strcmp0(plugin->name, MO_CLI_SASL_OUR_PLUGIN) == 0;
		g_string_append_printf(all, "%s%s", all->len > 0 ? ", " : "", plugin->name);
	}
	if (!ours) {
		mo_doctor_add(
			findings,
			FALSE,
			check,
			g_strdup_printf(
				_("mailoauth's plugin is not where libsasl2 looks (SASL_PATH, "
				  "else its plugin directory); found: %s"),
				all->len > 0 ? all->str : _("none")),
			g_strdup(_("install libmailoauth.so into libsasl2's plugin directory, or "
				   "add its directory to SASL_PATH; without it, \"Pass keyring:\" "
				   "would send the word as a token")));
		return;
	}
	if (g_strcmp0(first->name, MO_CLI_SASL_OUR_PLUGIN) != 0) {
		mo_doctor_add(findings,
			      FALSE,
			      check,
			      g_strdup_printf(_("libsasl2 gives mail programs the plugin “%s”, not "
						"mailoauth's (offered by: %s)"),
					      first->name,
					      all->str),
			      g_strdup_printf(
				      _("remove the plugin “%s” (mailoauth's reads sasl-xoauth2's "
					"token files), or put mailoauth's directory first in "
					"SASL_PATH"),
				      first->name));
		return;
	}
	mo_doctor_add(findings,
		      TRUE,
		      check,
		      g_strdup_printf(_("mailoauth's is used (offered by: %s)"), all->str),
		      NULL);
}

static void
mo_doctor_sasl(GPtrArray *findings)
{
	g_autoptr(GError) error_local = NULL;
	g_autoptr(GPtrArray) plugins =
		mo_cli_sasl_list_plugins("XOAUTH2 OAUTHBEARER", &error_local);

	if (plugins == NULL) {
		mo_doctor_add(findings,
			      FALSE,
			      _("SASL plugins"),
			      mo_text_escape(error_local->message),
			      g_strdup(_("install libsasl2 (Debian: libsasl2-2)")));
		return;
	}
	mo_doctor_sasl_mech(plugins, "XOAUTH2", findings);
	mo_doctor_sasl_mech(plugins, "OAUTHBEARER", findings);
}

static void
mo_doctor_accounts(MoCli *cli, GPtrArray *findings)
{
	g_autoptr(GPtrArray) entries = NULL;
	MoKeyring *keyring = mo_cli_get_keyring(cli, NULL);

	if (keyring == NULL ||
	    (entries = mo_keyring_list(keyring, MO_KEYRING_ACCOUNT, NULL)) == NULL)
		return;
	for (guint i = 0; i < entries->len; i++) {
		MoKeyringEntry *entry = g_ptr_array_index(entries, i);
		g_autoptr(MoAccount) account = NULL;
		g_autofree gchar *check = NULL;
		g_autofree gchar *name = mo_text_escape(entry->name);

		if (entry->locked ||
		    (account = mo_account_from_json(entry->json, entry->name, NULL)) == NULL)
			continue;
		check = g_strdup_printf(_("account %s"), name);
		if (account->needs_sign_in)
			mo_doctor_add(findings,
				      FALSE,
				      check,
				      g_strdup(_("the provider refused its grant")),
				      g_strdup_printf(_("mailoauth authorize %s"), name));
		else if (account->token->refresh_token == NULL)
			mo_doctor_add(findings,
				      FALSE,
				      check,
				      g_strdup(_("no refresh token: it stops working when its "
						 "access token expires")),
				      g_strdup_printf(_("mailoauth authorize %s"), name));
		else
			mo_doctor_add(findings,
				      TRUE,
				      check,
				      g_strdup(_("has a refresh token")),
				      NULL);
	}
}

static void
mo_doctor_exports(GPtrArray *findings)
{
	g_autoptr(GPtrArray) exports = mo_cli_read_exports(NULL);

	for (guint i = 0; exports != NULL && i < exports->len; i++) {
		const MoExportStatus *status = g_ptr_array_index(exports, i);
		g_autofree gchar *name = mo_text_escape(status->account);
		g_autofree gchar *check = g_strdup_printf(_("postfix export %s"), name);

		if (status->needs_sign_in)
			mo_doctor_add(findings,
				      FALSE,
				      check,
				      g_strdup(_("the provider refused its grant")),
				      g_strdup_printf(_("mailoauth export %s"), name));
		else if (status->last_error != NULL)
			mo_doctor_add(
				findings,
				FALSE,
				check,
				mo_text_escape(status->last_error),
				g_strdup(_("see “mailoauth export --list”; the timer retries")));
		else
			mo_doctor_add(findings, TRUE, check, g_strdup(_("refreshes")), NULL);
	}
}

static void
mo_doctor_print(GPtrArray *findings, gboolean as_json)
{
	g_autoptr(MoJson) array = mo_json_new_array();
	g_autofree gchar *text = NULL;

	for (guint i = 0; i < findings->len; i++) {
		const MoFinding *finding = g_ptr_array_index(findings, i);
		MoJson *obj;

		if (!as_json) {
			/* plain ASCII marks: cron and bare units run under LC_ALL=C */
			g_print("[%s] %s: %s\n",
				finding->ok ? "ok" : "!!",
				finding->check,
				finding->found);
			if (finding->fix != NULL)
				g_print(_("     fix: %s\n"), finding->fix);
			continue;
		}
		obj = mo_json_new_object();
		mo_json_object_set(obj, "ok", mo_json_new_boolean(finding->ok));
		mo_json_set_string(obj, "check", finding->check);
		mo_json_set_string(obj, "found", finding->found);
		mo_json_set_string(obj, "fix", finding->fix);
		mo_json_array_add(array, obj);
	}
	if (as_json) {
		text = mo_json_serialize(array, TRUE);
		g_print("%s\n", text);
	}
}

int
mo_cmd_doctor(MoCli *cli, int argc, char **argv)
{
	gboolean as_json = FALSE;
	const GOptionEntry entries[] = {
		{"json", 0, 0, G_OPTION_ARG_NONE, &as_json, N_("Print JSON"), NULL},
		{NULL},
	};
	g_autoptr(GPtrArray) findings =
		g_ptr_array_new_with_free_func((GDestroyNotify)mo_finding_free);
	GError *error = NULL;

	if (!mo_cli_parse(
		    cli,
		    "",
		    _("Checks what breaks setups: the keyring, which SASL plugin mail programs "
		      "get for XOAUTH2 and OAUTHBEARER, the accounts and the exports for "
		      "postfix; prints each finding with its fix. Exit status 0 only when "
		      "nothing is wrong."),
		    entries,
		    &argc,
		    &argv,
		    0,
		    0,
		    &error))
		return mo_cli_fail(cli, NULL, error);
	mo_doctor_keyring(cli, findings);
	mo_doctor_sasl(findings);
	mo_doctor_accounts(cli, findings);
	mo_doctor_exports(findings);
	mo_doctor_print(findings, as_json);
	for (guint i = 0; i < findings->len; i++) {
		if (!((MoFinding *)g_ptr_array_index(findings, i))->ok)
			return MO_EXIT_FAILURE;
	}
	return MO_EXIT_OK;
}
