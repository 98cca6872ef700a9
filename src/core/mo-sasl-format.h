/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Largest server challenge the mechanisms accept; a real one is under 200 bytes. */
#define MO_SASL_CHALLENGE_MAX 4096

gchar *mo_sasl_xoauth2_response(const gchar *user, const gchar *token, gsize *len);
gchar *mo_sasl_oauthbearer_response(const gchar *user,
				    const gchar *host,
				    guint port,
				    const gchar *token,
				    gsize *len);
gchar *mo_sasl_describe_challenge(const gchar *data, gsize len);

G_END_DECLS
