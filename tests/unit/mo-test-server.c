/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "mo-test-server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "mo-test.h"

/* requests larger than this are not what the code under test sends */
#define MO_TEST_SERVER_MAX_REQUEST (64 * 1024)
#define MO_TEST_SERVER_IO_TIMEOUT  5

struct _MoTestServer {
	gint listen_fd;
	guint16 port;
	GThread *thread;
	GString *response; /* status line, headers and body; for every request not scripted */
	GMutex mutex;
	GQueue *script;	     /* of GString*, answers for the next requests, in order */
	GPtrArray *requests; /* of gchar*, whole requests as received */
	GArray *times;	     /* of gint64, monotonic time each request was read */
	guint n_connections; /* counted at accept(), before anything is read */
};

/* Content-Length of the request headers in @req, or 0. */
static gsize
mo_test_server_content_length(const gchar *req)
{
	g_auto(GStrv) lines = g_strsplit(req, "\r\n", -1);

	for (guint i = 0; lines[i] != NULL && lines[i][0] != '\0'; i++) {
		if (g_ascii_strncasecmp(lines[i], "Content-Length:", 15) == 0)
			return (gsize)g_ascii_strtoull(lines[i] + 15, NULL, 10);
	}
	return 0;
}

static gchar *
mo_test_server_read_request(gint fd)
{
	GString *req = g_string_new(NULL);
	gchar buf[4096];
	const gchar *end;

	/* headers, then exactly Content-Length bytes of body */
	while ((end = strstr(req->str, "\r\n\r\n")) == NULL ||
	       req->len < (gsize)(end + 4 - req->str) + mo_test_server_content_length(req->str)) {
		gssize n = recv(fd, buf, sizeof(buf), 0);
		if (n <= 0 || req->len + n > MO_TEST_SERVER_MAX_REQUEST)
			break;
		g_string_append_len(req, buf, n);
	}
	return g_string_free(req, FALSE);
}

static void
mo_test_server_send_all(gint fd, const gchar *data, gsize len)
{
	while (len > 0) {
		/* MSG_NOSIGNAL: a client that hangs up (libcurl on a too large answer) must not
		 * kill the test with SIGPIPE */
		gssize n = send(fd, data, len, MSG_NOSIGNAL);
		if (n <= 0)
			return;
		data += n;
		len -= n;
	}
}

/* The status line, headers and body of one answer. */
static GString *
mo_test_server_format_response(guint status, const gchar *headers, const gchar *body, gsize len)
{
	GString *response = g_string_new(NULL);

	g_string_append_printf(response,
			       "HTTP/1.1 %u Test\r\nContent-Type: application/json\r\n"
			       "Content-Length: %zu\r\nConnection: close\r\n%s\r\n",
			       status,
			       len,
			       headers != NULL ? headers : "");
	g_string_append_len(response, body, len);
	return response;
}

static void
mo_test_server_string_free(gpointer data)
{
	g_string_free(data, TRUE);
}

static gpointer
mo_test_server_thread(gpointer user_data)
{
	MoTestServer *server = user_data;
	struct timeval tv = {.tv_sec = MO_TEST_SERVER_IO_TIMEOUT};

	for (;;) {
		gint fd = accept(server->listen_fd, NULL, NULL);
		GString *scripted;
		gint64 now;
		gchar *req;

		if (fd < 0) {
			if (errno == EINTR)
				continue;
			/* shutdown() of the listening socket by mo_test_server_free() */
			return NULL;
		}
		g_mutex_lock(&server->mutex);
		server->n_connections++;
		g_mutex_unlock(&server->mutex);
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
		req = mo_test_server_read_request(fd);
		now = g_get_monotonic_time();
		g_mutex_lock(&server->mutex);
		g_ptr_array_add(server->requests, req);
		g_array_append_val(server->times, now);
		scripted = g_queue_pop_head(server->script);
		g_mutex_unlock(&server->mutex);
		if (scripted != NULL) {
			mo_test_server_send_all(fd, scripted->str, scripted->len);
			g_string_free(scripted, TRUE);
		} else {
			mo_test_server_send_all(fd, server->response->str, server->response->len);
		}
		shutdown(fd, SHUT_WR);
		close(fd);
	}
}

/* @headers: extra header lines, each ending in \r\n, or NULL. */
MoTestServer *
mo_test_server_new(guint status, const gchar *headers, const gchar *body, gsize len)
{
	MoTestServer *server = g_new0(MoTestServer, 1);
	struct sockaddr_in addr = {0};
	socklen_t addr_len = sizeof(addr);

	g_mutex_init(&server->mutex);
	server->requests = g_ptr_array_new_with_free_func(g_free);
	server->times = g_array_new(FALSE, FALSE, sizeof(gint64));
	server->script = g_queue_new();
	server->response = mo_test_server_format_response(status, headers, body, len);

	addr.sin_family = AF_INET;
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	server->listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (server->listen_fd < 0 ||
	    bind(server->listen_fd, (struct sockaddr *)&addr, sizeof(addr)) != 0 ||
	    listen(server->listen_fd, 8) != 0 ||
	    getsockname(server->listen_fd, (struct sockaddr *)&addr, &addr_len) != 0)
		g_error("test server: cannot listen on 127.0.0.1: %s", g_strerror(errno));
	server->port = ntohs(addr.sin_port);
	server->thread = g_thread_new("test-server", mo_test_server_thread, server);
	return server;
}

/* Queues an answer for the next request not yet answered by an earlier queued one: a script
 * of answers (authorization_pending, slow_down, then a token). When the script is used up,
 * requests get the answer given to mo_test_server_new() again. */
void
mo_test_server_queue(MoTestServer *server,
		     guint status,
		     const gchar *headers,
		     const gchar *body,
		     gsize len)
{
	GString *response = mo_test_server_format_response(status, headers, body, len);

	g_mutex_lock(&server->mutex);
	g_queue_push_tail(server->script, response);
	g_mutex_unlock(&server->mutex);
}

gchar *
mo_test_server_get_url(MoTestServer *server, const gchar *path)
{
	return g_strdup_printf("http://127.0.0.1:%u%s", server->port, path);
}

guint
mo_test_server_get_n_requests(MoTestServer *server)
{
	guint n;

	g_mutex_lock(&server->mutex);
	n = server->requests->len;
	g_mutex_unlock(&server->mutex);
	return n;
}

guint
mo_test_server_get_n_connections(MoTestServer *server)
{
	guint n;

	g_mutex_lock(&server->mutex);
	n = server->n_connections;
	g_mutex_unlock(&server->mutex);
	return n;
}

/* (nullable): request number @index, headers and body */
gchar *
mo_test_server_dup_request(MoTestServer *server, guint index)
{
	gchar *req = NULL;

	g_mutex_lock(&server->mutex);
	if (index < server->requests->len)
		req = g_strdup(g_ptr_array_index(server->requests, index));
	g_mutex_unlock(&server->mutex);
	return req;
}

/* (nullable): the body of request number @index */
gchar *
mo_test_server_dup_body(MoTestServer *server, guint index)
{
	g_autofree gchar *req = mo_test_server_dup_request(server, index);
	const gchar *end = req != NULL ? strstr(req, "\r\n\r\n") : NULL;

	return end != NULL ? g_strdup(end + 4) : NULL;
}

/* g_get_monotonic_time() when request number @index had been read, or -1 */
gint64
mo_test_server_get_request_time(MoTestServer *server, guint index)
{
	gint64 t = -1;

	g_mutex_lock(&server->mutex);
	if (index < server->times->len)
		t = g_array_index(server->times, gint64, index);
	g_mutex_unlock(&server->mutex);
	return t;
}

void
mo_test_server_free(MoTestServer *server)
{
	if (server == NULL)
		return;
	/* wakes the accept() in the thread */
	shutdown(server->listen_fd, SHUT_RDWR);
	g_thread_join(server->thread);
	close(server->listen_fd);
	g_ptr_array_unref(server->requests);
	g_array_unref(server->times);
	g_queue_free_full(server->script, mo_test_server_string_free);
	g_string_free(server->response, TRUE);
	g_mutex_clear(&server->mutex);
	g_free(server);
}

/* The form-urlencoded body of request @index, decoded into a table (name → value). */
GHashTable *
mo_test_server_dup_form(MoTestServer *server, guint index)
{
	g_autofree gchar *body = mo_test_server_dup_body(server, index);
	g_auto(GStrv) fields = NULL;
	GHashTable *form = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);

	assert_non_null(body);
	fields = g_strsplit(body, "&", -1);
	for (guint i = 0; fields[i] != NULL; i++) {
		g_auto(GStrv) kv = g_strsplit(fields[i], "=", 2);
		assert_int_equal(g_strv_length(kv), 2);
		g_hash_table_insert(form,
				    g_uri_unescape_string(kv[0], NULL),
				    g_uri_unescape_string(kv[1], NULL));
	}
	return form;
}
