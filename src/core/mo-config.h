/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

#include "mo-http.h"

G_BEGIN_DECLS

#define MO_DEFAULT_KEYRING_TIMEOUT 30

/* Settings from $XDG_CONFIG_HOME/mailoauth/mailoauth.conf, group [mailoauth]. */
typedef struct {
	gint64 refresh_margin; /* seconds */
	guint keyring_timeout; /* seconds */
	MoHttpOptions http;
} MoConfig;

void mo_config_init_defaults(MoConfig *config);
gboolean mo_config_load(MoConfig *config, const gchar *path, GError **error);
gchar *mo_config_default_path(void);
GStrv mo_config_unknown(const gchar *path);

G_END_DECLS
