/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>

#include "mo-json.h"
#include "mo-sasl-format.h"

/* XOAUTH2 (Google, Microsoft): "user=" U ^A "auth=Bearer " T ^A ^A */
gchar *
mo_sasl_xoauth2_response(const gchar *user, const gchar *token, gsize *len)
{
	gchar *out = g_strdup_printf("user=%s\001auth=Bearer %s\001\001", user, token);

	*len = strlen(out);
	return out;
}

/* OAUTHBEARER (RFC 7628 §3.1): a GS2 header with the authzid, then key=value pairs separated
 * by ^A. ',' and '=' in the user are escaped as =2C and =3D (RFC 5801 §4). */
gchar *
mo_sasl_oauthbearer_response(const gchar *user,
			     const gchar *host,
			     guint port,
			     const gchar *token,
			     gsize *len)
{
	/* no authzid at all when there is no user: "a=" must not be empty (RFC 5801) */
	GString *out = g_string_new(user[0] != '\0' ? "n,a=" : "n,");

	for (const gchar *p = user; *p != '\0'; p++) {
		if (*p == ',')
			g_string_append(out, "=2C");
		else if (*p == '=')
			g_string_append(out, "=3D");
		else
			g_string_append_c(out, *p);
	}
	g_string_append_c(out, ',');
	if (host != NULL && host[0] != '\0')
		g_string_append_printf(out, "\001host=%s", host);
	if (port > 0)
		g_string_append_printf(out, "\001port=%u", port);
	g_string_append_printf(out, "\001auth=Bearer %s\001\001", token);
	*len = out->len;
	return g_string_free(out, FALSE);
}

/* What the server's error challenge says, for a log line: {"status":"401","scope":…} from
 * XOAUTH2 servers, {"status":"invalid_token",…} from OAUTHBEARER ones (RFC 7628 §3.2.2).
 * Only the known members, and only printable text of them; NULL when it is not JSON. */
gchar *
mo_sasl_describe_challenge(const gchar *data, gsize len)
{
	g_autoptr(MoJson) obj = NULL;
	g_autofree gchar *status = NULL;
	g_autofree gchar *scope = NULL;

	if (data == NULL || len == 0 || len > MO_SASL_CHALLENGE_MAX)
		return NULL;
	obj = mo_json_parse_object(data, (gssize)len, "challenge", NULL);
	if (obj == NULL || !mo_json_get_string(obj, "status", &status, "challenge", NULL) ||
	    !mo_json_get_string(obj, "scope", &scope, "challenge", NULL) || status == NULL)
		return NULL;
	g_strcanon(status, G_CSET_a_2_z G_CSET_A_2_Z G_CSET_DIGITS "_-.", '?');
	if (scope != NULL)
		g_strcanon(scope, G_CSET_a_2_z G_CSET_A_2_Z G_CSET_DIGITS "_-.:/ ", '?');
	if (scope != NULL)
		return g_strdup_printf("status %s, scope %s", status, scope);
	return g_strdup_printf("status %s", status);
}
