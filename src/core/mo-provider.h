/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef enum {
	MO_PROVIDER_CUSTOM,
	MO_PROVIDER_MICROSOFT,
	MO_PROVIDER_GOOGLE,
} MoProvider;

typedef enum {
	MO_PURPOSE_IMAP = 1 << 0,
	MO_PURPOSE_SMTP = 1 << 1,
	MO_PURPOSE_POP = 1 << 2,
	MO_PURPOSE_ALL = MO_PURPOSE_IMAP | MO_PURPOSE_SMTP,
} MoPurpose;

/* Endpoints of one provider; strings owned by the caller. */
typedef struct {
	gchar *authorize_endpoint;
	gchar *token_endpoint;
	gchar *device_endpoint; /* NULL: the provider has no device flow for mail */
	gchar *issuer;		/* NULL: not checked (the provider sends no iss) */
} MoEndpoints;

#define MO_MICROSOFT_DEFAULT_TENANT	       "common"
#define MO_SASL_XOAUTH2_DEFAULT_TOKEN_ENDPOINT "https://accounts.google.com/o/oauth2/token"

gboolean mo_provider_from_string(const gchar *name, MoProvider *out);
const gchar *mo_provider_to_string(MoProvider provider);
gboolean mo_provider_get_endpoints(MoProvider provider,
				   const gchar *tenant,
				   MoEndpoints *out,
				   GError **error);
void mo_endpoints_clear(MoEndpoints *endpoints);
gchar *mo_provider_get_scopes(MoProvider provider, MoPurpose purpose);
gboolean mo_url_check_endpoint(const gchar *url, GError **error);
gboolean mo_url_is_loopback(const gchar *url);

G_END_DECLS
