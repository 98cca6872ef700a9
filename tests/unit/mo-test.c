/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "mo-test.h"

#include <arpa/inet.h>
#include <errno.h>
#include <glib/gstdio.h>
#include <netinet/in.h>
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>

/* TAP goes to stdout: keep GLib's log lines (g_debug with G_MESSAGES_DEBUG set) off it.
 * The canned servers listen on 127.0.0.1: reach them directly even when the caller's
 * environment names a proxy (libcurl reads these variables on every request). */
void
mo_test_init(void)
{
	g_log_writer_default_set_use_stderr(TRUE);
	g_setenv("no_proxy", "127.0.0.1,localhost,::1", TRUE);
	g_setenv("NO_PROXY", "127.0.0.1,localhost,::1", TRUE);
}

gchar *
mo_test_make_tmpdir(void)
{
	g_autoptr(GError) error = NULL;
	gchar *dir = g_dir_make_tmp("mailoauth-unit-XXXXXX", &error);

	if (dir == NULL)
		g_error("cannot make a temporary directory: %s", error->message);
	return dir;
}

void
mo_test_rm_rf(const gchar *path)
{
	g_autoptr(GDir) dir = NULL;
	const gchar *name;

	if (path == NULL)
		return;
	if (g_file_test(path, G_FILE_TEST_IS_DIR) && !g_file_test(path, G_FILE_TEST_IS_SYMLINK)) {
		dir = g_dir_open(path, 0, NULL);
		while (dir != NULL && (name = g_dir_read_name(dir)) != NULL) {
			g_autofree gchar *child = g_build_filename(path, name, NULL);
			mo_test_rm_rf(child);
		}
		g_rmdir(path);
		return;
	}
	g_unlink(path);
}

void
mo_test_write_file(const gchar *path, const gchar *contents)
{
	g_autoptr(GError) error = NULL;

	if (!g_file_set_contents(path, contents, -1, &error))
		fail_msg("cannot write %s: %s", path, error->message);
}

gint64
mo_test_now(void)
{
	return g_get_real_time() / G_USEC_PER_SEC;
}

gint
mo_test_refusing_socket_new(guint16 *port)
{
	struct sockaddr_in addr = {0};
	socklen_t len = sizeof(addr);
	gint fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	addr.sin_family = AF_INET;
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	addr.sin_port = 0;
	if (fd < 0 || bind(fd, (struct sockaddr *)&addr, sizeof(addr)) != 0 ||
	    getsockname(fd, (struct sockaddr *)&addr, &len) != 0)
		g_error("cannot bind a socket on 127.0.0.1: %s", g_strerror(errno));
	*port = ntohs(addr.sin_port);
	return fd;
}

static gint
mo_test_compare_names(gconstpointer a, gconstpointer b)
{
	return g_strcmp0(*(const gchar *const *)a, *(const gchar *const *)b);
}

/* The names in @dir, sorted and joined with ' ': shows a temporary file left behind. */
gchar *
mo_test_list_dir(const gchar *dir)
{
	g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
	g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
	const gchar *name;

	assert_non_null(d);
	while ((name = g_dir_read_name(d)) != NULL)
		g_ptr_array_add(names, g_strdup(name));
	g_ptr_array_sort(names, mo_test_compare_names);
	g_ptr_array_add(names, NULL);
	return g_strjoinv(" ", (gchar **)names->pdata);
}
