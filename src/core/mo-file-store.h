/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "mo-refresh.h"

G_BEGIN_DECLS

MoTokenStore *mo_file_store_new(const gchar *path, GError **error);
const gchar *mo_file_store_get_user(MoTokenStore *store);
void mo_file_store_free(MoTokenStore *store);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(MoTokenStore, mo_file_store_free)

G_END_DECLS
