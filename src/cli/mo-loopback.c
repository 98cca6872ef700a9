/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <glib/gi18n.h>
#include <netinet/in.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "mo-error.h"
#include "mo-loopback.h"
#include "mo-secure.h"

/* The redirect listener of the browser flow (RFC 8252 §7.3): 127.0.0.1 only, one valid
 * redirect accepted, everything else answered and ignored. */
#define MO_LOOPBACK_REQUEST_MAX	    8192
#define MO_LOOPBACK_READ_TIMEOUT_MS 5000
#define MO_LOOPBACK_POLL_MS	    200

struct _MoLoopback {
	int fd;
	guint16 port;
};

MoLoopback *
mo_loopback_new(guint16 port, GError **error)
{
	struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons(port)};
	socklen_t len = sizeof(addr);
	MoLoopback *loopback;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || bind(fd, (struct sockaddr *)&addr, sizeof(addr)) != 0 || listen(fd, 8) != 0 ||
	    getsockname(fd, (struct sockaddr *)&addr, &len) != 0) {
		int errsv = errno;
		if (fd >= 0)
			close(fd);
		g_set_error(error,
			    MO_ERROR,
			    MO_ERROR_FAILED,
			    _("Cannot listen on 127.0.0.1:%u for the browser's redirect: %s"),
			    port,
			    g_strerror(errsv));
		return NULL;
	}
	loopback = g_new0(MoLoopback, 1);
	loopback->fd = fd;
	loopback->port = ntohs(addr.sin_port);
	return loopback;
}

void
mo_loopback_free(MoLoopback *loopback)
{
	if (loopback == NULL)
		return;
	close(loopback->fd);
	g_free(loopback);
}

gchar *
mo_loopback_get_redirect_uri(MoLoopback *loopback)
{
	return g_strdup_printf("http://127.0.0.1:%u/", loopback->port);
}

static void
mo_loopback_respond(int fd, const gchar *status, const gchar *title, const gchar *text)
{
	g_autofree gchar *title_esc = g_markup_escape_text(title, -1);
	g_autofree gchar *text_esc = g_markup_escape_text(text, -1);
	g_autofree gchar *body =
		g_strdup_printf("<!DOCTYPE html><html><head><meta charset=\"utf-8\">"
				"<title>%s</title></head><body><h1>%s</h1><p>%s</p>"
				"</body></html>\n",
				title_esc,
				title_esc,
				text_esc);
	g_autofree gchar *response = g_strdup_printf("HTTP/1.1 %s\r\n"
						     "Content-Type: text/html; charset=utf-8\r\n"
						     "Content-Length: %zu\r\n"
						     "Cache-Control: no-store\r\n"
						     "Referrer-Policy: no-referrer\r\n"
						     "Connection: close\r\n\r\n%s",
						     status,
						     strlen(body),
						     body);
	gsize off = 0, len = strlen(response);

	while (off < len) {
		ssize_t n = send(fd, response + off, len - off, MSG_NOSIGNAL);
		if (n <= 0)
			break;
		off += (gsize)n;
	}
}

/* Reads the request line, bounded in size and in time: one deadline for the whole request,
 * so a client trickling bytes cannot hold the listener past it. */
static gchar *
mo_loopback_read_target(int fd, gint64 deadline)
{
	gchar buf[MO_LOOPBACK_REQUEST_MAX + 1];
	gsize len = 0;
	g_auto(GStrv) parts = NULL;
	gchar *target = NULL;
	gchar *eol;

	deadline = MIN(deadline, g_get_monotonic_time() + MO_LOOPBACK_READ_TIMEOUT_MS * 1000);
	while (len < MO_LOOPBACK_REQUEST_MAX) {
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		gint64 left_ms = (deadline - g_get_monotonic_time()) / 1000;
		ssize_t n;
		if (left_ms <= 0 || poll(&pfd, 1, (int)left_ms) <= 0)
			break;
		n = recv(fd, buf + len, MO_LOOPBACK_REQUEST_MAX - len, 0);
		if (n <= 0)
			break;
		len += (gsize)n;
		buf[len] = '\0';
		if (strstr(buf, "\r\n") != NULL)
			break;
	}
	buf[len] = '\0';
	eol = strstr(buf, "\r\n");
	if (eol == NULL) {
		mo_secure_wipe(buf, sizeof(buf));
		return NULL;
	}
	*eol = '\0';
	parts = g_strsplit(buf, " ", 4);
	mo_secure_wipe(buf, sizeof(buf));
	if (g_strv_length(parts) == 3 && g_strcmp0(parts[0], "GET") == 0 &&
	    g_str_has_prefix(parts[2], "HTTP/1."))
		target = g_strdup(parts[1]);
	/* the target holds the authorization code */
	for (guint i = 0; parts[i] != NULL; i++)
		mo_secure_wipe(parts[i], strlen(parts[i]));
	return target;
}

/* One connection: the redirect if it is the one we wait for; NULL (and an answer to the
 * browser) otherwise. Sets @error only when the sign-in itself failed (e.g. denied). */
static MoRedirect *
mo_loopback_handle(int fd,
		   const MoAuthRequest *request,
		   const MoApp *app,
		   gint64 deadline,
		   GError **error)
{
	mo_autosecret gchar *target = mo_loopback_read_target(fd, deadline);
	g_autoptr(MoRedirect) redirect = NULL;
	g_autoptr(GError) error_local = NULL;

	if (target == NULL || !g_str_has_prefix(target, "/?")) {
		mo_loopback_respond(fd, "404 Not Found", _("Not found"), _("Nothing here."));
		return NULL;
	}
	redirect = mo_redirect_parse_query(target + 2, &error_local);
	if (redirect != NULL &&
	    mo_auth_request_check_redirect(request, app, redirect, &error_local)) {
		mo_loopback_respond(fd,
				    "200 OK",
				    _("Signed in"),
				    _("mailoauth received the authorization. You can close this "
				      "tab."));
		return g_steal_pointer(&redirect);
	}
	if (error_local->domain == MO_OAUTH_ERROR) {
		mo_loopback_respond(fd, "200 OK", _("Sign-in refused"), error_local->message);
		g_propagate_error(error, g_steal_pointer(&error_local));
		return NULL;
	}
	/* a wrong state or issuer: not ours, so the real one may still come */
	g_printerr("mailoauth authorize: %s\n", error_local->message);
	mo_loopback_respond(fd, "400 Bad Request", _("Not accepted"), error_local->message);
	return NULL;
}

MoRedirect *
mo_loopback_wait(MoLoopback *loopback,
		 const MoAuthRequest *request,
		 const MoApp *app,
		 guint timeout,
		 MoCancelFunc cancelled,
		 gpointer user_data,
		 GError **error)
{
	gint64 deadline = g_get_monotonic_time() + (gint64)timeout * G_USEC_PER_SEC;

	while (g_get_monotonic_time() < deadline) {
		struct pollfd pfd = {.fd = loopback->fd, .events = POLLIN};
		MoRedirect *redirect;
		GError *error_local = NULL;
		int conn;

		if (cancelled != NULL && cancelled(user_data)) {
			g_set_error(error, MO_ERROR, MO_ERROR_CANCELLED, _("Cancelled"));
			return NULL;
		}
		if (poll(&pfd, 1, MO_LOOPBACK_POLL_MS) <= 0)
			continue;
		conn = accept4(loopback->fd, NULL, NULL, SOCK_CLOEXEC);
		if (conn < 0)
			continue;
		redirect = mo_loopback_handle(conn, request, app, deadline, &error_local);
		close(conn);
		if (redirect != NULL || error_local != NULL) {
			if (error_local != NULL)
				g_propagate_error(error, error_local);
			return redirect;
		}
	}
	g_set_error(error,
		    MO_ERROR,
		    MO_ERROR_TRANSIENT,
		    _("No sign-in arrived within %u s; run the command again"),
		    timeout);
	return NULL;
}
