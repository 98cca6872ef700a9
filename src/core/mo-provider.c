/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <glib/gi18n-lib.h>
#include <string.h>

#include "mo-error.h"
#include "mo-provider.h"

#define MO_MICROSOFT_BASE "https://login.microsoftonline.com/"
/* outlook.office.com, not outlook.office365.com: IMAP rejects tokens issued for the latter */
#define MO_MICROSOFT_SCOPE_BASE "https://outlook.office.com/"

static const gchar *const provider_names[] = {
	[MO_PROVIDER_CUSTOM] = "custom",
	[MO_PROVIDER_MICROSOFT] = "microsoft",
	[MO_PROVIDER_GOOGLE] = "google",
};

gboolean
mo_provider_from_string(const gchar *name, MoProvider *out)
{
	for (guint i = 0; i < G_N_ELEMENTS(provider_names); i++) {
		if (g_strcmp0(name, provider_names[i]) == 0) {
			*out = (MoProvider)i;
			return TRUE;
		}
	}
	return FALSE;
}

const gchar *
mo_provider_to_string(MoProvider provider)
{
	if ((guint)provider >= G_N_ELEMENTS(provider_names))
		return "custom";
	return provider_names[provider];
}

/* A tenant is a GUID or a domain or common/organizations/consumers: it ends up in a URL path. */
static gboolean
mo_provider_tenant_is_valid(const gchar *tenant)
{
	gsize len = tenant != NULL ? strlen(tenant) : 0;

	/* no "." or ".." segments, which would climb the URL path */
	if (len == 0 || len > 255 || tenant[0] == '.' || tenant[len - 1] == '.' ||
	    strstr(tenant, "..") != NULL)
		return FALSE;
	for (const gchar *p = tenant; *p != '\0'; p++) {
		if (!g_ascii_isalnum(*p) && *p != '-' && *p != '.')
			return FALSE;
	}
	return TRUE;
}

gboolean
mo_provider_get_endpoints(MoProvider provider,
			  const gchar *tenant,
			  MoEndpoints *out,
			  GError **error)
{
	g_return_val_if_fail(error == NULL || *error == NULL, FALSE);

	memset(out, 0, sizeof(*out));
	switch (provider) {
	case MO_PROVIDER_MICROSOFT:
		if (tenant == NULL)
			tenant = MO_MICROSOFT_DEFAULT_TENANT;
		if (!mo_provider_tenant_is_valid(tenant)) {
			g_set_error(error,
				    MO_ERROR,
				    MO_ERROR_INVALID_ARGUMENT,
				    _("“%s” is not a Microsoft tenant: use a directory (tenant) "
				      "ID, a domain, or common, organizations or consumers"),
				    tenant);
			return FALSE;
		}
		out->authorize_endpoint =
			g_strconcat(MO_MICROSOFT_BASE, tenant, "/oauth2/v2.0/authorize", NULL);
		out->token_endpoint =
			g_strconcat(MO_MICROSOFT_BASE, tenant, "/oauth2/v2.0/token", NULL);
		out->device_endpoint =
			g_strconcat(MO_MICROSOFT_BASE, tenant, "/oauth2/v2.0/devicecode", NULL);
		return TRUE;
	case MO_PROVIDER_GOOGLE:
		out->authorize_endpoint = g_strdup("https://accounts.google.com/o/oauth2/auth");
		out->token_endpoint = g_strdup("https://oauth2.googleapis.com/token");
		/* Google refuses the device flow for the https://mail.google.com/ scope */
		out->device_endpoint = NULL;
		/* Google sends iss in authorization responses (RFC 9207) */
		out->issuer = g_strdup("https://accounts.google.com");
		return TRUE;
	case MO_PROVIDER_CUSTOM:
	default:
		/* endpoints come from the user */
		return TRUE;
	}
}

void
mo_endpoints_clear(MoEndpoints *endpoints)
{
	g_clear_pointer(&endpoints->authorize_endpoint, g_free);
	g_clear_pointer(&endpoints->token_endpoint, g_free);
	g_clear_pointer(&endpoints->device_endpoint, g_free);
	g_clear_pointer(&endpoints->issuer, g_free);
}

/* Space-separated scopes; offline_access asks for a refresh token where that is a scope. */
gchar *
mo_provider_get_scopes(MoProvider provider, MoPurpose purpose)
{
	g_autoptr(GPtrArray) scopes = g_ptr_array_new();

	switch (provider) {
	case MO_PROVIDER_MICROSOFT:
		if (purpose & MO_PURPOSE_IMAP)
			g_ptr_array_add(scopes, MO_MICROSOFT_SCOPE_BASE "IMAP.AccessAsUser.All");
		if (purpose & MO_PURPOSE_POP)
			g_ptr_array_add(scopes, MO_MICROSOFT_SCOPE_BASE "POP.AccessAsUser.All");
		if (purpose & MO_PURPOSE_SMTP)
			g_ptr_array_add(scopes, MO_MICROSOFT_SCOPE_BASE "SMTP.Send");
		g_ptr_array_add(scopes, "offline_access");
		break;
	case MO_PROVIDER_GOOGLE:
		/* one scope covers IMAP, POP and SMTP */
		g_ptr_array_add(scopes, "https://mail.google.com/");
		break;
	case MO_PROVIDER_CUSTOM:
	default:
		g_ptr_array_add(scopes, "openid");
		g_ptr_array_add(scopes, "offline_access");
		break;
	}
	g_ptr_array_add(scopes, NULL);
	return g_strjoinv(" ", (gchar **)scopes->pdata);
}

static gboolean
mo_host_is_loopback(const gchar *host)
{
	if (host == NULL)
		return FALSE;
	if (g_ascii_strcasecmp(host, "localhost") == 0 || g_strcmp0(host, "::1") == 0 ||
	    g_strcmp0(host, "[::1]") == 0)
		return TRUE;
	/* 127.0.0.0/8, dotted quad only */
	if (g_str_has_prefix(host, "127.")) {
		guint dots = 0;
		for (const gchar *p = host; *p != '\0'; p++) {
			if (*p == '.')
				dots++;
			else if (!g_ascii_isdigit(*p))
				return FALSE;
		}
		return dots == 3;
	}
	return FALSE;
}

gboolean
mo_url_is_loopback(const gchar *url)
{
	g_autoptr(GUri) uri = g_uri_parse(url, G_URI_FLAGS_NONE, NULL);
	return uri != NULL && mo_host_is_loopback(g_uri_get_host(uri));
}

/* Tokens travel only over HTTPS; plain HTTP only to this machine, for tests. */
gboolean
mo_url_check_endpoint(const gchar *url, GError **error)
{
	g_autoptr(GUri) uri = NULL;
	const gchar *scheme;

	g_return_val_if_fail(error == NULL || *error == NULL, FALSE);

	/* GUri lets spaces and control characters through; an endpoint has none, and a URL
	 * that is shown to the user must not carry escape sequences */
	for (const gchar *p = url; p != NULL && *p != '\0'; p++) {
		if ((guchar)*p <= 0x20 || (guchar)*p == 0x7f) {
			g_set_error(error,
				    MO_ERROR,
				    MO_ERROR_INVALID_ARGUMENT,
				    _("An endpoint URL has spaces or control characters"));
			return FALSE;
		}
	}
	if (url != NULL)
		uri = g_uri_parse(url, G_URI_FLAGS_NONE, NULL);
	if (uri == NULL || g_uri_get_host(uri) == NULL || g_uri_get_host(uri)[0] == '\0') {
		g_set_error(error,
			    MO_ERROR,
			    MO_ERROR_INVALID_ARGUMENT,
			    _("“%s” is not an absolute URL"),
			    url != NULL ? url : "");
		return FALSE;
	}
	scheme = g_uri_get_scheme(uri);
	if (g_ascii_strcasecmp(scheme, "https") == 0)
		return TRUE;
	if (g_ascii_strcasecmp(scheme, "http") == 0 && mo_host_is_loopback(g_uri_get_host(uri)))
		return TRUE;
	g_set_error(error,
		    MO_ERROR,
		    MO_ERROR_INVALID_ARGUMENT,
		    _("The endpoint %s must use https:// (plain http is allowed only on "
		      "127.0.0.1 and localhost)"),
		    url);
	return FALSE;
}
