/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "mo-token-store.h"

G_BEGIN_DECLS

MoTokenStore *mo_file_store_new(const gchar *path, GError **error);
const gchar *mo_file_store_get_user(MoTokenStore *store);

G_END_DECLS
