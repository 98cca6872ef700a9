/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

#include "mo-token.h"

G_BEGIN_DECLS

gboolean mo_journal_write(const gchar *const *paths,
			  const MoToken *previous,
			  const MoToken *fresh,
			  GError **error);
gchar *mo_journal_path_for_lock(const gchar *lock_path);
MoToken *mo_journal_read(const gchar *const *paths, gchar **previous);
void mo_journal_remove(const gchar *const *paths);

G_END_DECLS
