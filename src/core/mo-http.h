/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define MO_HTTP_DEFAULT_CONNECT_TIMEOUT 10
#define MO_HTTP_DEFAULT_TIMEOUT		30

typedef struct {
	guint connect_timeout; /* seconds */
	guint timeout;	       /* seconds, whole request */
	/* borrowed; NULL: libcurl's defaults. A CA file or directory that cannot be read
	 * (inside postfix's chroot) is replaced by the bundle read before the chroot, if any
	 * (mo-ca.h). */
	const gchar *ca_file;
	const gchar *ca_dir;
	const gchar *proxy;
} MoHttpOptions;

typedef struct {
	guint status;
	gchar *body; /* NUL-terminated; may hold tokens, wiped on free */
	gsize body_len;
	gint64 retry_after; /* seconds from a Retry-After header; -1 when absent */
} MoHttpResponse;

gchar *mo_http_form_encode(const gchar *const *pairs);
MoHttpResponse *mo_http_post_form(const gchar *url,
				  const gchar *const *pairs,
				  const MoHttpOptions *options,
				  GError **error);
MoHttpResponse *mo_http_get(const gchar *url, const MoHttpOptions *options, GError **error);
gboolean mo_http_status_is_transient(guint status);
void mo_http_response_free(MoHttpResponse *response);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(MoHttpResponse, mo_http_response_free)

G_END_DECLS
