/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Largest CA bundle read into memory (Debian's is ~220 KiB). */
#define MO_CA_MAX_SIZE (4 * 1024 * 1024)

gboolean mo_ca_preload(const gchar *ca_file, const gchar *ca_dir, GError **error);
GBytes *mo_ca_get_preloaded(void);

G_END_DECLS
