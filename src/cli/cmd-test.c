/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <glib/gi18n.h>
#include <string.h>

#include "mo-cli.h"
#include "mo-curl.h"
#include "mo-provider.h"
#include "mo-secure.h"

/* "mailoauth test ACCOUNT --imap HOST | --smtp HOST": logs in with XOAUTH2 (or OAUTHBEARER)
 * for real and reports the server's answer, as mutt_oauth2.py --test does. libcurl speaks
 * IMAP and SMTP with a bearer token (CURLOPT_XOAUTH2_BEARER): no protocol code of ours. It
 * stops once logged in (CURLOPT_CONNECT_ONLY: IMAP's and SMTP's login is part of libcurl's
 * connect), so no mailbox is read and no mail is sent. */

#define MO_TEST_IMAP_PORT 993
#define MO_TEST_SMTP_PORT 587

typedef struct {
	gchar *imap;
	gchar *smtp;
	gchar *mech;
} MoTestOptions;

static MoTestOptions mo_test_opts;

static const GOptionEntry mo_test_entries[] = {
	{"imap",
	 0,
	 0,
	 G_OPTION_ARG_STRING,
	 &mo_test_opts.imap,
	 N_("Log in to this IMAP server (port 993, TLS; or an imap:// URL on 127.0.0.1)"),
	 N_("HOST[:PORT]")},
	{"smtp",
	 0,
	 0,
	 G_OPTION_ARG_STRING,
	 &mo_test_opts.smtp,
	 N_("Log in to this SMTP server (port 587, STARTTLS; or an smtp:// URL on 127.0.0.1)"),
	 N_("HOST[:PORT]")},
	{"mech",
	 0,
	 0,
	 G_OPTION_ARG_STRING,
	 &mo_test_opts.mech,
	 N_("XOAUTH2 (default) or OAUTHBEARER"),
	 N_("MECH")},
	{NULL},
};

/* The server's URL: imaps://HOST:993 or smtp://HOST:587 with STARTTLS required; a URL given
 * whole is taken as it is, plain only on loopback (as every endpoint of ours). */
static gchar *
mo_test_url(const gchar *server, gboolean imap, gboolean *require_tls)
{
	if (strstr(server, "://") != NULL) {
		*require_tls = !g_str_has_prefix(server, "imaps://") &&
			       !g_str_has_prefix(server, "smtps://");
		if ((g_str_has_prefix(server, "imap://") || g_str_has_prefix(server, "smtp://")) &&
		    mo_url_is_loopback(server))
			*require_tls = FALSE;
		return g_strdup(server);
	}
	*require_tls = TRUE;
	if (strchr(server, ':') != NULL)
		return g_strdup_printf("%s://%s", imap ? "imaps" : "smtp", server);
	return g_strdup_printf("%s://%s:%d",
			       imap ? "imaps" : "smtp",
			       server,
			       imap ? MO_TEST_IMAP_PORT : MO_TEST_SMTP_PORT);
}

static gboolean
mo_test_login(const gchar *url,
	      gboolean require_tls,
	      const gchar *user,
	      const gchar *token,
	      const gchar *mech,
	      GError **error)
{
	g_autofree gchar *login_options = g_strdup_printf("AUTH=%s", mech);
	gchar errbuf[CURL_ERROR_SIZE] = "";
	const MoCurl *c = mo_curl_get(error);
	CURL *curl;
	CURLcode rc;

	if (c == NULL)
		return FALSE;
	curl = c->easy_init();
	c->easy_setopt(curl, CURLOPT_URL, url);
	c->easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "imap,imaps,smtp,smtps");
	c->easy_setopt(curl, CURLOPT_USERNAME, user);
	c->easy_setopt(curl, CURLOPT_XOAUTH2_BEARER, token);
	c->easy_setopt(curl, CURLOPT_LOGIN_OPTIONS, login_options);
	c->easy_setopt(curl,
		       CURLOPT_USE_SSL,
		       require_tls ? (long)CURLUSESSL_ALL : (long)CURLUSESSL_NONE);
	c->easy_setopt(curl, CURLOPT_CONNECT_ONLY, 1L);
	c->easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, 15L);
	c->easy_setopt(curl, CURLOPT_TIMEOUT, 30L);
	c->easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	c->easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
	rc = c->easy_perform(curl);
	c->easy_cleanup(curl);
	if (rc == CURLE_OK)
		return TRUE;
	if (rc == CURLE_LOGIN_DENIED) {
		g_set_error(error,
			    MO_ERROR,
			    MO_ERROR_FAILED,
			    _("%s refused the %s login of %s (%s); the token is valid at the "
			      "provider, so check that the account's scopes allow this service and "
			      "that USER is the mailbox's address, or sign in again"),
			    url,
			    mech,
			    user,
			    errbuf[0] != '\0' ? errbuf : c->easy_strerror(rc));
		return FALSE;
	}
	g_set_error(error,
		    MO_ERROR,
		    MO_ERROR_TRANSIENT,
		    _("Cannot log in to %s: %s"),
		    url,
		    errbuf[0] != '\0' ? errbuf : c->easy_strerror(rc));
	return FALSE;
}

static gboolean
mo_test_one(const gchar *server,
	    gboolean imap,
	    const MoAccount *account,
	    const gchar *token,
	    const gchar *mech,
	    GError **error)
{
	gboolean require_tls = TRUE;
	g_autofree gchar *url = mo_test_url(server, imap, &require_tls);
	g_autofree gchar *shown = mo_text_escape(url);

	if (!mo_test_login(url, require_tls, account->user, token, mech, error))
		return FALSE;
	g_print(_("%s: %s login of %s accepted\n"), shown, mech, account->user);
	return TRUE;
}

static int
mo_test_run(MoCli *cli, const gchar *name, const MoTestOptions *opts)
{
	g_autoptr(MoToken) token = NULL;
	g_autoptr(MoAccount) account = NULL;
	const gchar *mech = opts->mech != NULL ? opts->mech : "XOAUTH2";
	MoKeyring *keyring;
	GError *error = NULL;

	if (g_strcmp0(mech, "XOAUTH2") != 0 && g_strcmp0(mech, "OAUTHBEARER") != 0) {
		g_printerr(_("mailoauth test: --mech must be XOAUTH2 or OAUTHBEARER\n"));
		return MO_EXIT_USAGE;
	}
	if (opts->imap == NULL && opts->smtp == NULL) {
		g_printerr(_("mailoauth test: give --imap HOST, --smtp HOST or both\n"));
		return MO_EXIT_USAGE;
	}
	/* a fresh token (refreshed if needed), and the login name of the account */
	token = mo_cli_get_token(cli, name, FALSE, NULL, &error);
	if (token == NULL || (keyring = mo_cli_get_keyring(cli, &error)) == NULL ||
	    (account = mo_keyring_load_account(keyring, name, &error)) == NULL)
		return mo_cli_fail(cli, name, error);
	if ((opts->imap != NULL &&
	     !mo_test_one(opts->imap, TRUE, account, token->access_token, mech, &error)) ||
	    (opts->smtp != NULL &&
	     !mo_test_one(opts->smtp, FALSE, account, token->access_token, mech, &error)))
		return mo_cli_fail(cli, NULL, error);
	return MO_EXIT_OK;
}

int
mo_cmd_test(MoCli *cli, int argc, char **argv)
{
	GError *error = NULL;
	int rc;

	if (!mo_cli_parse(cli,
			  "ACCOUNT",
			  _("Logs in to an IMAP or SMTP server with the account's token, as a mail "
			    "program would, and reports the server's answer. Nothing is read or "
			    "sent."),
			  mo_test_entries,
			  &argc,
			  &argv,
			  1,
			  1,
			  &error))
		return mo_cli_fail(cli, NULL, error);
	rc = mo_test_run(cli, argv[1], &mo_test_opts);
	g_free(mo_test_opts.imap);
	g_free(mo_test_opts.smtp);
	g_free(mo_test_opts.mech);
	return rc;
}
