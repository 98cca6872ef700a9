/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

gchar *mo_random_urlsafe(gsize nbytes, GError **error);
gchar *mo_base64url_encode(const guint8 *data, gsize len);
gchar *mo_pkce_challenge_s256(const gchar *verifier);
gboolean mo_constant_time_equal(const gchar *a, const gchar *b);

G_END_DECLS
