/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gi18n-lib.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mo-error.h"
#include "mo-file.h"
#include "mo-secure.h"

/* A regular file, opened for reading without following a symlink planted in its place and
 * without blocking on a FIFO (postfix would hang in open()). -1 with *errsv set otherwise. */
static int
mo_file_open_regular(const gchar *path, struct stat *st, int *errsv)
{
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);

	if (fd < 0) {
		*errsv = errno;
		return -1;
	}
	if (fstat(fd, st) != 0)
		*errsv = errno;
	else if (!S_ISREG(st->st_mode))
		*errsv = EINVAL;
	else if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) != 0)
		*errsv = errno;
	else
		return fd;
	close(fd);
	return -1;
}

static gboolean
mo_file_read_all(int fd, gchar *data, gsize size, gsize *len)
{
	*len = 0;
	while (*len < size) {
		ssize_t n = read(fd, data + *len, size - *len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return FALSE;
		if (n == 0)
			break;
		*len += (gsize)n;
	}
	return TRUE;
}

/* Reads a small file holding secrets: only a regular file, at most @max bytes. The result is
 * NUL-terminated; wipe it when done. */
gchar *
mo_file_read_secret(const gchar *path, gsize max, gsize *len, struct stat *st, GError **error)
{
	g_autofree gchar *data = NULL;
	int errsv = 0;
	int fd = mo_file_open_regular(path, st, &errsv);

	if (fd < 0) {
		g_set_error(error,
			    MO_ERROR,
			    MO_ERROR_INVALID_DATA,
			    _("Cannot read %s: %s"),
			    path,
			    errsv == ELOOP    ? _("it is a symbolic link")
			    : errsv == EINVAL ? _("it is not a regular file")
					      : g_strerror(errsv));
		return NULL;
	}
	if ((gsize)st->st_size > max) {
		close(fd);
		g_set_error(error,
			    MO_ERROR,
			    MO_ERROR_INVALID_DATA,
			    _("%s is larger than %zu bytes"),
			    path,
			    max);
		return NULL;
	}
	data = g_malloc0((gsize)st->st_size + 1);
	if (!mo_file_read_all(fd, data, (gsize)st->st_size, len)) {
		errsv = errno;
		close(fd);
		mo_secure_wipe(data, (gsize)st->st_size);
		g_set_error(error,
			    MO_ERROR,
			    MO_ERROR_INVALID_DATA,
			    _("Cannot read %s: %s"),
			    path,
			    g_strerror(errsv));
		return NULL;
	}
	close(fd);
	return g_steal_pointer(&data);
}

/* Writes all of @data, across short writes and EINTR. */
gboolean
mo_file_write_all(int fd, const gchar *data, gsize len)
{
	while (len > 0) {
		ssize_t n = write(fd, data, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return FALSE;
		data += n;
		len -= (gsize)n;
	}
	return TRUE;
}

static gboolean
mo_file_sync_dir(const gchar *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	gboolean ok;

	if (fd < 0)
		return FALSE;
	ok = fsync(fd) == 0;
	close(fd);
	return ok;
}

/* A new, empty temporary file next to @path, never an existing one or a symlink. */
static int
mo_file_create_temp(const gchar *path, gchar **tmp)
{
	g_autofree gchar *dir = g_path_get_dirname(path);
	g_autofree gchar *base = g_path_get_basename(path);

	for (guint i = 0; i < 16; i++) {
		int fd;
		g_free(*tmp);
		*tmp = g_strdup_printf("%s/.%s.%08x.tmp", dir, base, g_random_int());
		fd = open(*tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd >= 0 || errno != EEXIST)
			return fd;
	}
	return -1;
}

/* Owner and mode first, so the data is never readable by anyone it should not be. Only root
 * can give a file away; another user keeps its own. Only the permission bits of @mode are
 * set: a file of secrets is no program, and a setuid, setgid or sticky bit found on the old
 * one (set by mistake, or by someone who could) is not carried on to every rewrite. */
static gboolean
mo_file_fill(int fd, const gchar *data, gsize len, mode_t mode, uid_t uid, gid_t gid)
{
	if (fchown(fd, uid, gid) != 0 && geteuid() == 0)
		return FALSE;
	return fchmod(fd, mode & (S_IRWXU | S_IRWXG | S_IRWXO)) == 0 &&
	       mo_file_write_all(fd, data, len) && fsync(fd) == 0;
}

/* Replaces @path atomically: a new file next to it (O_EXCL, O_NOFOLLOW), owner and mode set
 * before any data is in it, fsync, rename over the old one, fsync of the directory. A crash
 * leaves the old file or the new one, never half of either. Of @mode (st_mode of the old
 * file will do) only the permission bits are kept, never setuid, setgid or sticky. */
gboolean
mo_file_replace(const gchar *path,
		const gchar *data,
		gsize len,
		mode_t mode,
		uid_t uid,
		gid_t gid,
		GError **error)
{
	g_autofree gchar *dir = g_path_get_dirname(path);
	g_autofree gchar *tmp = NULL;
	gboolean ok;
	int errsv;
	int fd;

	g_return_val_if_fail(error == NULL || *error == NULL, FALSE);

	fd = mo_file_create_temp(path, &tmp);
	ok = fd >= 0 && mo_file_fill(fd, data, len, mode, uid, gid);
	errsv = errno;
	if (fd >= 0 && close(fd) != 0 && ok) {
		ok = FALSE;
		errsv = errno;
	}
	if (ok && rename(tmp, path) != 0) {
		ok = FALSE;
		errsv = errno;
	}
	if (!ok) {
		if (fd >= 0)
			unlink(tmp);
		g_set_error(error,
			    MO_ERROR,
			    MO_ERROR_FAILED,
			    _("Cannot replace %s: %s"),
			    path,
			    g_strerror(errsv));
		return FALSE;
	}
	mo_file_sync_dir(dir);
	return TRUE;
}
