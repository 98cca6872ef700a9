/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mo-ca.h"
#include "mo-error.h"
#include "mo-export-status.h"
#include "mo-file-store.h"
#include "mo-refresh.h"
#include "mo-sasl-backend.h"
#include "mo-secure.h"
#include "mo-token.h"

/* Bounds on what a client hands us: a user name, and a password that may be a whole token. */
#define MO_SASL_USER_MAX     1024
#define MO_SASL_PASSWORD_MAX 16384

/* The keyring is read by running "mailoauth token ACCOUNT": the same lock and store as the
 * CLI, and no libsecret, GIO or D-Bus connection inside the mail client. Tests point
 * MAILOAUTH_CLI at the build tree's binary. */
#define MO_SASL_CLI_ENV "MAILOAUTH_CLI"

void
mo_sasl_credentials_free(MoSaslCredentials *creds)
{
	if (creds == NULL)
		return;
	g_free(creds->user);
	mo_secure_free(creds->password);
	g_free(creds);
}

/* A prompt answered in an earlier SASL_INTERACT round. */
static const sasl_interact_t *
mo_sasl_find_prompt(sasl_interact_t **prompt_need, unsigned long id)
{
	if (prompt_need == NULL || *prompt_need == NULL)
		return NULL;
	for (const sasl_interact_t *p = *prompt_need; p->id != SASL_CB_LIST_END; p++) {
		if (p->id == id && p->result != NULL)
			return p;
	}
	return NULL;
}

/* postfix style: a SASL_CB_AUTHNAME callback. SASL_INTERACT when the client wants a prompt
 * instead (mbsync registers the ids without functions). */
static int
mo_sasl_get_user(sasl_client_params_t *params, sasl_interact_t **prompt_need, gchar **out)
{
	const sasl_interact_t *prompt = mo_sasl_find_prompt(prompt_need, SASL_CB_AUTHNAME);
	sasl_callback_ft proc = NULL;
	void *context = NULL;
	const char *value = NULL;
	unsigned len = 0;
	int result;

	if (prompt != NULL) {
		*out = g_strndup(prompt->result, MIN(prompt->len, MO_SASL_USER_MAX));
		return SASL_OK;
	}
	result = params->utils->getcallback(params->utils->conn, SASL_CB_AUTHNAME, &proc, &context);
	if (result != SASL_OK || proc == NULL)
		return result == SASL_OK ? SASL_INTERACT : result;
	result =
		((sasl_getsimple_t *)(void (*)(void))proc)(context, SASL_CB_AUTHNAME, &value, &len);
	if (result != SASL_OK || value == NULL)
		return result != SASL_OK ? result : SASL_BADPARAM;
	*out = g_strndup(value, MIN(len > 0 ? len : strlen(value), MO_SASL_USER_MAX));
	return SASL_OK;
}

static int
mo_sasl_get_password(sasl_client_params_t *params, sasl_interact_t **prompt_need, gchar **out)
{
	const sasl_interact_t *prompt = mo_sasl_find_prompt(prompt_need, SASL_CB_PASS);
	sasl_callback_ft proc = NULL;
	void *context = NULL;
	sasl_secret_t *secret = NULL;
	int result;

	if (prompt != NULL) {
		*out = g_strndup(prompt->result, MIN(prompt->len, MO_SASL_PASSWORD_MAX));
		return SASL_OK;
	}
	result = params->utils->getcallback(params->utils->conn, SASL_CB_PASS, &proc, &context);
	if (result != SASL_OK || proc == NULL)
		return result == SASL_OK ? SASL_INTERACT : result;
	result = ((sasl_getsecret_t *)(void (*)(
		void))proc)(params->utils->conn, context, SASL_CB_PASS, &secret);
	if (result != SASL_OK || secret == NULL)
		return result != SASL_OK ? result : SASL_BADPARAM;
	*out = g_strndup((const gchar *)secret->data, MIN(secret->len, MO_SASL_PASSWORD_MAX));
	return SASL_OK;
}

/* Asks the client for what it did not give through callbacks (libsasl2 frees the array's
 * results; the array itself is ours to free on the next call). */
static int
mo_sasl_make_prompts(sasl_client_params_t *params,
		     sasl_interact_t **prompt_need,
		     gboolean need_user,
		     gboolean need_password)
{
	sasl_interact_t *prompts;
	guint n = 0;

	/* a client without callbacks that cannot take prompts either */
	if (prompt_need == NULL)
		return SASL_BADPARAM;
	prompts = params->utils->malloc(sizeof(sasl_interact_t) * 3);
	if (prompts == NULL)
		return SASL_NOMEM;
	memset(prompts, 0, sizeof(sasl_interact_t) * 3);
	if (need_user) {
		prompts[n].id = SASL_CB_AUTHNAME;
		prompts[n++].prompt = "Please enter your authentication name";
	}
	if (need_password) {
		prompts[n].id = SASL_CB_PASS;
		prompts[n++].prompt =
			"Please enter your access token, token file or keyring: reference";
	}
	prompts[n].id = SASL_CB_LIST_END;
	*prompt_need = prompts;
	return SASL_INTERACT;
}

int
mo_sasl_get_credentials(sasl_client_params_t *params,
			sasl_interact_t **prompt_need,
			MoSaslCredentials **out)
{
	g_autoptr(MoSaslCredentials) creds = g_new0(MoSaslCredentials, 1);
	int user_result = mo_sasl_get_user(params, prompt_need, &creds->user);
	int pass_result = mo_sasl_get_password(params, prompt_need, &creds->password);

	/* the answers are copied; the previous round's prompt array is done with */
	if (prompt_need != NULL && *prompt_need != NULL) {
		params->utils->free(*prompt_need);
		*prompt_need = NULL;
	}
	if (user_result == SASL_INTERACT || pass_result == SASL_INTERACT)
		return mo_sasl_make_prompts(params,
					    prompt_need,
					    user_result == SASL_INTERACT,
					    pass_result == SASL_INTERACT);
	if (user_result != SASL_OK)
		return user_result;
	if (pass_result != SASL_OK)
		return pass_result;
	*out = g_steal_pointer(&creds);
	return SASL_OK;
}

/* sasl-xoauth2 also takes a relative path as a token file. A token never names an existing
 * file, and one that starts like a path (./ ../ ~/) is never sent as a token: a file that is
 * missing is then reported as missing. Returns the absolute path, or NULL for a token. */
static gchar *
mo_sasl_relative_token_file(const gchar *password)
{
	if (g_str_has_prefix(password, "~/"))
		return g_build_filename(g_get_home_dir(), password + 2, NULL);
	if (g_str_has_prefix(password, "./") || g_str_has_prefix(password, "../") ||
	    (strchr(password, '/') != NULL && g_file_test(password, G_FILE_TEST_IS_REGULAR)))
		return g_canonicalize_filename(password, NULL);
	return NULL;
}

/* The password's form decides the source; *name is the account or file for messages. */
MoSaslSource
mo_sasl_classify(const gchar *user, const gchar *password, gchar **name)
{
	if (password == NULL || password[0] == '\0') {
		*name = g_strdup(user);
		return MO_SASL_SOURCE_KEYRING;
	}
	if (g_str_has_prefix(password, MO_SASL_KEYRING_PREFIX)) {
		const gchar *account = password + strlen(MO_SASL_KEYRING_PREFIX);
		*name = g_strdup(account[0] != '\0' ? account : user);
		return MO_SASL_SOURCE_KEYRING;
	}
	if (password[0] == '/') {
		*name = g_strdup(password);
		return MO_SASL_SOURCE_FILE;
	}
	*name = mo_sasl_relative_token_file(password);
	if (*name != NULL)
		return MO_SASL_SOURCE_FILE;
	return MO_SASL_SOURCE_TOKEN;
}

static gchar *
mo_sasl_token_from_file(const gchar *path, gchar **user, GError **error)
{
	g_autoptr(MoTokenStore) store = mo_file_store_new(path, error);
	g_autoptr(MoToken) token = NULL;
	g_autoptr(GError) error_local = NULL;
	gboolean refreshed = FALSE;
	MoRefreshOptions options = {
		.margin = MO_DEFAULT_REFRESH_MARGIN,
		.http = {.connect_timeout = MO_HTTP_DEFAULT_CONNECT_TIMEOUT,
			 .timeout = MO_HTTP_DEFAULT_TIMEOUT},
	};

	if (store == NULL)
		return NULL;
	token = mo_refresh_get_token(store, &options, &refreshed, &error_local);
	if (token == NULL) {
		/* a file that could not even be read has no status to report to */
		if (!g_error_matches(error_local, MO_ERROR, MO_ERROR_INVALID_DATA))
			mo_export_status_record(path, NULL, error_local);
		g_propagate_error(error, g_steal_pointer(&error_local));
		return NULL;
	}
	if (refreshed)
		mo_export_status_record(path, token, NULL);
	/* sasl-xoauth2: the file's user overrides the SASL login name */
	*user = g_strdup(mo_file_store_get_user(store));
	return g_steal_pointer(&token->access_token);
}

/**
 * mo_sasl_prepare_for_chroot:
 *
 * In a process that may chroot before it refreshes a token file (postfix's smtp client
 * initialises SASL as root, then enters its chroot), reads the CA certificates now: those of
 * /etc/sasl-xoauth2.conf (ca_bundle_file, ca_certs_dir), else libcurl's default bundle. A
 * user's mail program (mbsync) never chroots and does not pay for it.
 *
 * Returns: %TRUE when nothing was needed or the certificates were read
 */
gboolean
mo_sasl_prepare_for_chroot(GError **error)
{
	g_autofree gchar *conf_path = NULL;
	g_autofree gchar *ca_file = NULL;
	g_autofree gchar *ca_dir = NULL;
	g_autoptr(MoJson) conf = NULL;
	g_autoptr(GError) error_local = NULL;

	g_return_val_if_fail(error == NULL || *error == NULL, FALSE);

	if (geteuid() != 0 || mo_ca_get_preloaded() != NULL)
		return TRUE;
	conf = mo_file_store_read_config(&conf_path, &error_local);
	if (conf != NULL) {
		mo_json_get_string(conf, "ca_bundle_file", &ca_file, conf_path, NULL);
		mo_json_get_string(conf, "ca_certs_dir", &ca_dir, conf_path, NULL);
	}
	if (!mo_ca_preload(ca_file, ca_dir, error))
		return FALSE;
	/* the default bundle is in; a broken configuration is still worth a warning */
	if (error_local != NULL) {
		g_propagate_error(error, g_steal_pointer(&error_local));
		return FALSE;
	}
	/* success */
	return TRUE;
}

/* What "mailoauth token" said on stderr — the error and the command to run next — as one
 * printable line of bounded length, for the SASL error. */
static gchar *
mo_sasl_one_line(const gchar *text)
{
	g_autofree gchar *copy = g_strstrip(g_strndup(text != NULL ? text : "", 1024));

	for (gchar *p = copy; *p != '\0'; p++) {
		if (*p == '\n')
			*p = ' ';
		else if ((guchar)*p < 0x20 || (guchar)*p == 0x7f)
			*p = '?';
	}
	return g_steal_pointer(&copy);
}

static gchar *
mo_sasl_token_from_keyring(const gchar *account, GError **error)
{
	const gchar *cli = secure_getenv(MO_SASL_CLI_ENV);
	const gchar *argv[] = {cli != NULL ? cli : MO_BINDIR "/mailoauth", "token", account, NULL};
	mo_autosecret gchar *out = NULL;
	g_autofree gchar *err = NULL;
	g_autofree gchar *line = NULL;
	gint status = 0;

	if (!mo_account_name_is_valid(account, error))
		return NULL;
	if (!g_spawn_sync(NULL,
			  (gchar **)argv,
			  NULL,
			  G_SPAWN_STDIN_FROM_DEV_NULL,
			  NULL,
			  NULL,
			  &out,
			  &err,
			  &status,
			  error))
		return NULL;
	if (!g_spawn_check_wait_status(status, NULL) || out == NULL || out[0] == '\0') {
		line = mo_sasl_one_line(err);
		g_set_error(error,
			    MO_ERROR,
			    MO_ERROR_FAILED,
			    "no token for %s from the keyring: %s",
			    account,
			    line[0] != '\0' ? line : "mailoauth token failed");
		return NULL;
	}
	g_strchomp(out);
	return g_steal_pointer(&out);
}

/* A token must not break the framing: ^A separates fields. */
static gboolean
mo_sasl_token_is_sane(const gchar *token)
{
	if (token == NULL || token[0] == '\0')
		return FALSE;
	for (const gchar *p = token; *p != '\0'; p++) {
		if ((guchar)*p < 0x20 || (guchar)*p == 0x7f)
			return FALSE;
	}
	return TRUE;
}

/* @user: (out) (transfer full) (nullable): the login name to use instead of the SASL
 * user's, when the token file names one */
gchar *
mo_sasl_resolve_token(const MoSaslCredentials *creds,
		      MoSaslSource *source,
		      gchar **name,
		      gchar **user,
		      GError **error)
{
	mo_autosecret gchar *token = NULL;

	*user = NULL;
	/* ^A separates the fields of both mechanisms: the user must not carry one */
	if (!mo_sasl_token_is_sane(creds->user)) {
		g_set_error(error,
			    MO_ERROR,
			    MO_ERROR_INVALID_ARGUMENT,
			    "the SASL user name is empty or has control characters");
		return NULL;
	}
	*source = mo_sasl_classify(creds->user, creds->password, name);
	switch (*source) {
	case MO_SASL_SOURCE_KEYRING:
		token = mo_sasl_token_from_keyring(*name, error);
		break;
	case MO_SASL_SOURCE_FILE:
		token = mo_sasl_token_from_file(*name, user, error);
		break;
	case MO_SASL_SOURCE_TOKEN:
	default:
		token = g_strdup(creds->password);
		break;
	}
	if (token == NULL)
		return NULL;
	if (!mo_sasl_token_is_sane(token)) {
		g_set_error(error,
			    MO_ERROR,
			    MO_ERROR_INVALID_DATA,
			    "the access token for %s is empty or has control characters",
			    creds->user);
		return NULL;
	}
	if (*user != NULL && !mo_sasl_token_is_sane(*user)) {
		g_set_error(error,
			    MO_ERROR,
			    MO_ERROR_INVALID_DATA,
			    "the user of the token file %s is empty or has control characters",
			    *name);
		g_clear_pointer(user, g_free);
		return NULL;
	}
	return g_steal_pointer(&token);
}

/* Why the server said no, and what the user can do about it, per source. */
gchar *
mo_sasl_describe_rejection(const gchar *user,
			   MoSaslSource source,
			   const gchar *name,
			   const gchar *what)
{
	g_autofree gchar *said = what != NULL ? g_strdup_printf(" (%s)", what) : g_strdup("");

	switch (source) {
	case MO_SASL_SOURCE_KEYRING:
		return g_strdup_printf("the server rejected the access token of account %s%s; "
				       "check \"mailoauth status %s\", and sign in again with "
				       "\"mailoauth authorize %s\" if it is not valid",
				       name,
				       said,
				       name,
				       name);
	case MO_SASL_SOURCE_FILE:
		return g_strdup_printf("the server rejected the access token from %s for %s%s; "
				       "the grant may be revoked or for another user: sign in "
				       "again with \"mailoauth authorize %s\" and replace the file",
				       name,
				       user,
				       said,
				       user);
	case MO_SASL_SOURCE_TOKEN:
	default:
		return g_strdup_printf("the server rejected the access token given as the "
				       "password of %s%s; it may have expired: use "
				       "PassCmd \"mailoauth token %s\"",
				       user,
				       said,
				       user);
	}
}
