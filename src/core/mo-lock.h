/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct _MoLock MoLock;

gchar *mo_lock_path_for_account(const gchar *account);
gchar *mo_lock_path_for_file(const gchar *path);
MoLock *mo_lock_acquire(const gchar *path, GError **error);
MoLock *mo_lock_acquire_within(const gchar *path, guint seconds, GError **error);
void mo_lock_release(MoLock *lock);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(MoLock, mo_lock_release)

G_END_DECLS
