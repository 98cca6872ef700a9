/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

gchar *mo_json_lenient_clean(const gchar *data, gsize len, gsize *out_len);

G_END_DECLS
