/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

gboolean mo_postfix_relay_is_valid(const gchar *relay, GError **error);
gboolean mo_postfix_apply(const gchar *postconf,
			  const gchar *config_dir,
			  const gchar *relay,
			  const gchar *user,
			  const gchar *token_path,
			  gchar **summary,
			  GError **error);

G_END_DECLS
