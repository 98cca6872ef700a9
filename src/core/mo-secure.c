/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "mo-secure.h"

#include <string.h>

void
mo_secure_wipe(gpointer data, gsize len)
{
	if (data == NULL)
		return;
	/* explicit_bzero is not optimised away, unlike a memset before free */
	explicit_bzero(data, len);
}

void
mo_secure_free(gchar *secret)
{
	if (secret == NULL)
		return;
	mo_secure_wipe(secret, strlen(secret));
	g_free(secret);
}

void
mo_secure_freep(gchar **secret)
{
	mo_secure_free(*secret);
	*secret = NULL;
}

/* The one place that turns a secret into something printable: its length only. */
gchar *
mo_secure_redact(const gchar *secret)
{
	if (secret == NULL || secret[0] == '\0')
		return g_strdup("(none)");
	return g_strdup_printf("(%zu characters, hidden)", strlen(secret));
}
