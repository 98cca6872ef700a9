/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

void mo_secure_wipe(gpointer data, gsize len);
void mo_secure_free(gchar *secret);
void mo_secure_freep(gchar **secret);
gchar *mo_secure_redact(const gchar *secret);

/* A string holding a token or client secret: wiped, then freed, when it goes out of scope. */
#define mo_autosecret __attribute__((cleanup(mo_secure_freep)))

G_END_DECLS
