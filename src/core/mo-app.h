/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

#include "mo-provider.h"

G_BEGIN_DECLS

/* A registered OAuth client. Several accounts may share one. */
typedef struct {
	gchar *name;
	MoProvider provider;
	gchar *tenant; /* Microsoft only; NULL means "common" */
	gchar *client_id;
	gchar *client_secret; /* secret; NULL for public clients */
	gchar *token_endpoint;
	gchar *authorize_endpoint;
	gchar *device_endpoint;
	gchar *issuer; /* for checking iss in redirects (RFC 9207); NULL when unknown */
	/* How to reach the token endpoint, for token files (sasl-xoauth2's keys); never
	 * stored in the keyring. NULL: libcurl's defaults. */
	gchar *ca_bundle_file;
	gchar *ca_certs_dir;
	gchar *proxy;
} MoApp;

#define MO_APP_JSON_VERSION 1

MoApp *mo_app_new(const gchar *name, MoProvider provider);
void mo_app_free(MoApp *app);
gboolean mo_app_fill_endpoints(MoApp *app, GError **error);
gboolean mo_app_validate(const MoApp *app, GError **error);
MoApp *mo_app_from_json(const gchar *json, const gchar *name, GError **error);
gchar *mo_app_to_json(const MoApp *app);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(MoApp, mo_app_free)

G_END_DECLS
