/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "mo-json.h"
#include "mo-token-store.h"

G_BEGIN_DECLS

MoTokenStore *mo_file_store_new(const gchar *path, GError **error);
const gchar *mo_file_store_get_user(MoTokenStore *store);
MoJson *mo_file_store_read_config(gchar **path, GError **error);

G_END_DECLS
