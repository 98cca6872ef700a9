/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>
#include <sys/types.h>

G_BEGIN_DECLS

gchar *
mo_file_read_secret(const gchar *path, gsize max, gsize *len, struct stat *st, GError **error);
gboolean mo_file_write_all(int fd, const gchar *data, gsize len);
gboolean mo_file_replace(const gchar *path,
			 const gchar *data,
			 gsize len,
			 mode_t mode,
			 uid_t uid,
			 gid_t gid,
			 GError **error);

G_END_DECLS
