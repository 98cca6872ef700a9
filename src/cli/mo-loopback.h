/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "mo-authorize.h"

G_BEGIN_DECLS

typedef struct _MoLoopback MoLoopback;

MoLoopback *mo_loopback_new(guint16 port, GError **error);
gchar *mo_loopback_get_redirect_uri(MoLoopback *loopback);
MoRedirect *mo_loopback_wait(MoLoopback *loopback,
			     const MoAuthRequest *request,
			     const MoApp *app,
			     guint timeout,
			     MoCancelFunc cancelled,
			     gpointer user_data,
			     GError **error);
void mo_loopback_free(MoLoopback *loopback);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(MoLoopback, mo_loopback_free)

G_END_DECLS
