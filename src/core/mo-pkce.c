/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <errno.h>
#include <glib/gi18n-lib.h>
#include <string.h>
#include <sys/random.h>

#include "mo-error.h"
#include "mo-pkce.h"
#include "mo-secure.h"

/* base64url without padding (RFC 4648 §5, RFC 7636 appendix A) */
gchar *
mo_base64url_encode(const guint8 *data, gsize len)
{
	gchar *text = g_base64_encode(data, len);
	gsize n = strlen(text);

	for (gsize i = 0; i < n; i++) {
		if (text[i] == '+')
			text[i] = '-';
		else if (text[i] == '/')
			text[i] = '_';
	}
	while (n > 0 && text[n - 1] == '=')
		text[--n] = '\0';
	return text;
}

/* @nbytes from the kernel's CSPRNG, base64url: for PKCE verifiers and state. GLib's
 * g_random is not meant for secrets. */
gchar *
mo_random_urlsafe(gsize nbytes, GError **error)
{
	guint8 buf[64];
	gsize got = 0;
	gchar *text;

	g_return_val_if_fail(nbytes <= sizeof(buf), NULL);

	while (got < nbytes) {
		ssize_t n = getrandom(buf + got, nbytes - got, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int errsv = errno;
			g_set_error(error,
				    MO_ERROR,
				    MO_ERROR_FAILED,
				    _("Cannot get random bytes: %s"),
				    g_strerror(errsv));
			return NULL;
		}
		got += (gsize)n;
	}
	text = mo_base64url_encode(buf, nbytes);
	mo_secure_wipe(buf, sizeof(buf));
	return text;
}

/* code_challenge = BASE64URL(SHA256(ASCII(code_verifier))), RFC 7636 §4.2 */
gchar *
mo_pkce_challenge_s256(const gchar *verifier)
{
	g_autoptr(GChecksum) checksum = g_checksum_new(G_CHECKSUM_SHA256);
	guint8 digest[32];
	gsize len = sizeof(digest);

	g_checksum_update(checksum, (const guchar *)verifier, strlen(verifier));
	g_checksum_get_digest(checksum, digest, &len);
	return mo_base64url_encode(digest, len);
}

/* For comparing state: the time taken does not tell how much of it matched. */
gboolean
mo_constant_time_equal(const gchar *a, const gchar *b)
{
	gsize la, lb;
	guchar diff = 0;

	if (a == NULL || b == NULL)
		return FALSE;
	la = strlen(a);
	lb = strlen(b);
	if (la != lb)
		return FALSE;
	for (gsize i = 0; i < la; i++)
		diff |= (guchar)a[i] ^ (guchar)b[i];
	return diff == 0;
}
