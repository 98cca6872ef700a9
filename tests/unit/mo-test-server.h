/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* An HTTP/1.1 server on 127.0.0.1, in a thread of the test, that gives every request the
 * same canned answer and records the request bodies: enough to drive libcurl POSTs without
 * the network. One request per connection, answered with Connection: close. A script of
 * different answers can be queued in front of the canned one (mo_test_server_queue()). */
typedef struct _MoTestServer MoTestServer;

MoTestServer *mo_test_server_new(guint status, const gchar *headers, const gchar *body, gsize len);
void mo_test_server_queue(MoTestServer *server,
			  guint status,
			  const gchar *headers,
			  const gchar *body,
			  gsize len);
gchar *mo_test_server_get_url(MoTestServer *server, const gchar *path);
guint mo_test_server_get_n_requests(MoTestServer *server);
guint mo_test_server_get_n_connections(MoTestServer *server);
gchar *mo_test_server_dup_request(MoTestServer *server, guint index);
gchar *mo_test_server_dup_body(MoTestServer *server, guint index);
GHashTable *mo_test_server_dup_form(MoTestServer *server, guint index);
gint64 mo_test_server_get_request_time(MoTestServer *server, guint index);
void mo_test_server_free(MoTestServer *server);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(MoTestServer, mo_test_server_free)

G_END_DECLS
