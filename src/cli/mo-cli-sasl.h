/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Our plugin's name as libsasl2 reports it (from libmailoauth.so). */
#define MO_CLI_SASL_OUR_PLUGIN "mailoauth"

typedef struct {
	gchar *name; /* as libsasl2 names it: the file name without lib and .so */
	gchar *mech;
	guint max_ssf;
	guint security_flags;
} MoCliSaslPlugin;

GPtrArray *mo_cli_sasl_list_plugins(const gchar *mechs, GError **error);
void mo_cli_sasl_plugin_free(MoCliSaslPlugin *plugin);

G_END_DECLS
