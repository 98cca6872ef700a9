/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <glib/gi18n-lib.h>
#include <string.h>

#include "mo-error.h"
#include "mo-json-lenient.h"
#include "mo-json.h"
#include "mo-secure.h"
#include "mo-token.h"

#define MO_ACCOUNT_NAME_MAX 254
/* 9999-12-31T23:59:59Z */
#define MO_TOKEN_TIME_MAX G_GINT64_CONSTANT(253402300799)

MoToken *
mo_token_new(void)
{
	return g_new0(MoToken, 1);
}

MoToken *
mo_token_copy(const MoToken *token)
{
	MoToken *copy = mo_token_new();
	copy->access_token = g_strdup(token->access_token);
	copy->refresh_token = g_strdup(token->refresh_token);
	copy->scope = g_strdup(token->scope);
	copy->expiry = token->expiry;
	copy->last_refresh = token->last_refresh;
	return copy;
}

void
mo_token_free(MoToken *token)
{
	if (token == NULL)
		return;
	mo_secure_free(token->access_token);
	mo_secure_free(token->refresh_token);
	g_free(token->scope);
	g_free(token);
}

gint64
mo_token_seconds_left(const MoToken *token, gint64 now)
{
	if (token->expiry <= 0)
		return 0;
	return token->expiry - now;
}

/* Fresh: an access token with more than @margin seconds left. An unknown expiry is stale,
 * so a token of unknown age is refreshed rather than sent and rejected. */
gboolean
mo_token_is_fresh(const MoToken *token, gint64 now, gint64 margin)
{
	if (token->access_token == NULL || token->access_token[0] == '\0')
		return FALSE;
	if (token->expiry <= 0)
		return FALSE;
	return mo_token_seconds_left(token, now) > margin;
}

/* Take a refresh response into the stored token. A response without a refresh token keeps
 * the old one: providers that do not rotate send none, and losing it would mean
 * authorizing again. */
void
mo_token_merge_refresh(MoToken *token, const MoToken *response, gint64 now)
{
	mo_secure_free(token->access_token);
	token->access_token = g_strdup(response->access_token);
	if (response->refresh_token != NULL && response->refresh_token[0] != '\0') {
		mo_secure_free(token->refresh_token);
		token->refresh_token = g_strdup(response->refresh_token);
	}
	if (response->scope != NULL) {
		g_free(token->scope);
		token->scope = g_strdup(response->scope);
	}
	token->expiry = response->expiry;
	token->last_refresh = now;
}

MoAccount *
mo_account_new(const gchar *name)
{
	MoAccount *account = g_new0(MoAccount, 1);
	account->name = g_strdup(name);
	account->token = mo_token_new();
	return account;
}

void
mo_account_free(MoAccount *account)
{
	if (account == NULL)
		return;
	g_free(account->name);
	g_free(account->user);
	g_free(account->app);
	mo_token_free(account->token);
	g_free(account);
}

/* Names appear in PassCmd lines, file names of exports, suggested commands and messages:
 * letters, digits, . _ @ + - = and non-ASCII letters (international addresses) only, so
 * none of them needs quoting in a shell. */
gboolean
mo_account_name_is_valid(const gchar *name, GError **error)
{
	gsize len = name != NULL ? strlen(name) : 0;
	gboolean ok = len > 0 && len <= MO_ACCOUNT_NAME_MAX && g_utf8_validate(name, len, NULL) &&
		      name[0] != '-' && name[0] != '.';

	for (gsize i = 0; ok && i < len; i++) {
		guchar c = (guchar)name[i];
		ok = g_ascii_isalnum(c) || c >= 0x80 || strchr("._@+-=", c) != NULL;
	}
	if (!ok) {
		g_set_error(error,
			    MO_ERROR,
			    MO_ERROR_INVALID_ARGUMENT,
			    _("“%s” cannot be used as a name: use the e-mail address, or letters, "
			      "digits and . _ @ + - = (not starting with . or -)"),
			    name != NULL ? name : "");
	}
	return ok;
}

/* A token read back must be what the provider's answer was checked to be (mo-oauth.c): one
 * with control characters was edited or corrupted, and would be printed or sent as it is. */
static gboolean
mo_token_check_chars(const gchar *key, const gchar *value, const gchar *what, GError **error)
{
	if (value == NULL || mo_text_is_vschar(value))
		return TRUE;
	g_set_error(error,
		    MO_ERROR,
		    MO_ERROR_INVALID_DATA,
		    _("In the %s, “%s” holds control characters or bytes outside printable "
		      "ASCII, which no token has; it was edited or is corrupted"),
		    what,
		    key);
	return FALSE;
}

/* A time a calendar can show: beyond the year 9999 it is no expiry but a broken file. */
static gboolean
mo_token_check_time(const gchar *key, gint64 value, const gchar *what, GError **error)
{
	if (value <= MO_TOKEN_TIME_MAX)
		return TRUE;
	g_set_error(error,
		    MO_ERROR,
		    MO_ERROR_INVALID_DATA,
		    _("In the %s, “%s” is %lld, a time after the year 9999; it was edited or "
		      "is corrupted"),
		    what,
		    key,
		    (long long)value);
	return FALSE;
}

static gboolean
mo_token_read_json(MoToken *token, const MoJson *obj, const gchar *what, GError **error)
{
	return mo_json_get_string(obj, "access_token", &token->access_token, what, error) &&
	       mo_json_get_string(obj, "refresh_token", &token->refresh_token, what, error) &&
	       mo_json_get_string(obj, "scope", &token->scope, what, error) &&
	       mo_json_get_int64(obj, "expiry", &token->expiry, what, error) &&
	       mo_token_check_chars("access_token", token->access_token, what, error) &&
	       mo_token_check_chars("refresh_token", token->refresh_token, what, error) &&
	       mo_token_check_time("expiry", token->expiry, what, error);
}

MoAccount *
mo_account_from_json(const gchar *json, const gchar *name, GError **error)
{
	g_autofree gchar *what = g_strdup_printf(_("keyring item of account “%s”"), name);
	g_autoptr(MoJson) obj = mo_json_parse_object(json, -1, what, error);
	g_autoptr(MoAccount) account = NULL;
	const MoJson *needs;

	if (obj == NULL)
		return NULL;
	account = mo_account_new(name);
	if (!mo_json_check_version(obj, MO_ACCOUNT_JSON_VERSION, what, error) ||
	    !mo_json_get_string(obj, "user", &account->user, what, error) ||
	    !mo_json_get_string(obj, "app", &account->app, what, error) ||
	    !mo_token_read_json(account->token, obj, what, error) ||
	    !mo_json_get_int64(obj, "last_refresh", &account->token->last_refresh, what, error) ||
	    !mo_token_check_time("last_refresh", account->token->last_refresh, what, error))
		return NULL;
	if (account->user == NULL)
		account->user = g_strdup(name);
	needs = mo_json_object_get(obj, "needs_sign_in");
	if (needs != NULL && mo_json_get_type(needs) == MO_JSON_BOOLEAN)
		account->needs_sign_in = mo_json_get_boolean(needs);
	return g_steal_pointer(&account);
}

gchar *
mo_account_to_json(const MoAccount *account)
{
	g_autoptr(MoJson) obj = mo_json_new_object();
	const MoToken *token = account->token;

	mo_json_set_int64(obj, "version", MO_ACCOUNT_JSON_VERSION);
	mo_json_set_string(obj, "account", account->name);
	mo_json_set_string(obj, "user", account->user);
	mo_json_set_string(obj, "app", account->app);
	mo_json_set_string(obj, "access_token", token->access_token);
	mo_json_set_string(obj, "refresh_token", token->refresh_token);
	mo_json_set_string(obj, "scope", token->scope);
	mo_json_set_int64(obj, "expiry", token->expiry);
	if (token->last_refresh > 0)
		mo_json_set_int64(obj, "last_refresh", token->last_refresh);
	if (account->needs_sign_in)
		mo_json_object_set(obj, "needs_sign_in", mo_json_new_boolean(TRUE));
	return mo_json_to_string(obj, FALSE);
}

void
mo_token_file_free(MoTokenFile *file)
{
	if (file == NULL)
		return;
	mo_token_free(file->token);
	g_free(file->user);
	g_free(file->client_id);
	mo_secure_free(file->client_secret);
	g_free(file->token_endpoint);
	g_clear_pointer(&file->document, mo_json_free);
	g_free(file);
}

MoTokenFile *
mo_token_file_parse(const gchar *data, gssize len, const gchar *path, GError **error)
{
	g_autofree gchar *what = g_strdup_printf(_("token file %s"), path);
	g_autoptr(MoTokenFile) file = g_new0(MoTokenFile, 1);
	mo_autosecret gchar *clean = NULL;
	gsize clean_len = 0;

	/* as sasl-xoauth2 reads them: comments, a trailing comma, a BOM */
	clean = mo_json_lenient_clean(data, len >= 0 ? (gsize)len : strlen(data), &clean_len);
	file->document = mo_json_parse_object(clean, (gssize)clean_len, what, error);
	if (file->document == NULL)
		return NULL;
	file->token = mo_token_new();
	if (!mo_token_read_json(file->token, file->document, what, error) ||
	    !mo_json_get_string(file->document, "user", &file->user, what, error) ||
	    !mo_json_get_string(file->document, "client_id", &file->client_id, what, error) ||
	    !mo_json_get_string(file->document,
				"client_secret",
				&file->client_secret,
				what,
				error) ||
	    !mo_json_get_string(file->document,
				"token_endpoint",
				&file->token_endpoint,
				what,
				error))
		return NULL;
	if (file->token->refresh_token == NULL || file->token->refresh_token[0] == '\0') {
		g_set_error(error,
			    MO_ERROR,
			    MO_ERROR_INVALID_DATA,
			    _("The %s has no refresh_token"),
			    what);
		return NULL;
	}
	return g_steal_pointer(&file);
}

/* sasl-xoauth2 writes expiry as a decimal string; so do we, so that it reads our files. */
gchar *
mo_token_file_serialize(MoTokenFile *file)
{
	MoJson *doc = file->document;
	g_autofree gchar *expiry = g_strdup_printf("%" G_GINT64_FORMAT, file->token->expiry);

	mo_json_set_string(doc, "access_token", file->token->access_token);
	mo_json_set_string(doc, "refresh_token", file->token->refresh_token);
	mo_json_set_string(doc, "expiry", expiry);
	mo_json_set_string(doc, "user", file->user);
	mo_json_set_string(doc, "client_id", file->client_id);
	mo_json_set_string(doc, "client_secret", file->client_secret);
	mo_json_set_string(doc, "token_endpoint", file->token_endpoint);
	return mo_json_to_string(doc, TRUE);
}
