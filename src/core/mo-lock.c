/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gi18n-lib.h>
#include <glib/gstdio.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mo-error.h"
#include "mo-lock.h"

struct _MoLock {
	int fd;
};

/* The user's runtime directory, the same for every process of the user: a cron job without
 * XDG_RUNTIME_DIR must lock where the desktop session's mbsync does, or both would refresh
 * with the same refresh token. */
static gchar *
mo_lock_runtime_dir(void)
{
	g_autofree gchar *run = g_strdup_printf("/run/user/%u", (guint)getuid());
	struct stat st;

	if (g_getenv("XDG_RUNTIME_DIR") != NULL)
		return g_strdup(g_get_user_runtime_dir());
	if (stat(run, &st) == 0 && S_ISDIR(st.st_mode) && st.st_uid == getuid())
		return g_steal_pointer(&run);
	return g_strdup(g_get_user_runtime_dir());
}

/* One lock file per account in the user's runtime directory. The name is a hash so that
 * any account name makes a safe file name. */
gchar *
mo_lock_path_for_account(const gchar *account)
{
	g_autofree gchar *hash = g_compute_checksum_for_string(G_CHECKSUM_SHA256, account, -1);
	g_autofree gchar *name = g_strdup_printf("%.32s.lock", hash);
	g_autofree gchar *dir = mo_lock_runtime_dir();

	return g_build_filename(dir, "mailoauth", name, NULL);
}

/* A lock file belongs to whoever owns its directory: root refreshing a token file in
 * postfix's directory must not leave a lock that postfix cannot open later. */
static void
mo_lock_give_to_dir_owner(int fd, const gchar *dir)
{
	struct stat st;

	if (geteuid() != 0 || stat(dir, &st) != 0)
		return;
	if (fchown(fd, st.st_uid, st.st_gid) != 0)
		g_debug("cannot give the lock file in %s to its directory's owner", dir);
}

static int
mo_lock_open(const gchar *path, const gchar *dir, GError **error)
{
	int fd;

	if (g_mkdir_with_parents(dir, 0700) != 0) {
		int errsv = errno;
		g_set_error(error,
			    MO_ERROR,
			    MO_ERROR_FAILED,
			    _("Cannot create %s: %s"),
			    dir,
			    g_strerror(errsv));
		return -1;
	}
	fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		int errsv = errno;
		g_set_error(error,
			    MO_ERROR,
			    MO_ERROR_FAILED,
			    _("Cannot open the lock file %s: %s"),
			    path,
			    g_strerror(errsv));
		return -1;
	}
	mo_lock_give_to_dir_owner(fd, dir);
	return fd;
}

/* Tries the lock until @seconds have passed (0: forever), a little less often the longer it
 * waits. flock locks go away when their holder dies. */
static gboolean
mo_lock_wait(int fd, const gchar *path, guint seconds, GError **error)
{
	gint64 deadline = g_get_monotonic_time() + (gint64)seconds * G_USEC_PER_SEC;
	gulong pause_us = 2000;

	while (flock(fd, LOCK_EX | (seconds > 0 ? LOCK_NB : 0)) != 0) {
		int errsv = errno;
		if (errsv == EINTR)
			continue;
		if (errsv != EWOULDBLOCK) {
			g_set_error(error,
				    MO_ERROR,
				    MO_ERROR_FAILED,
				    _("Cannot lock %s: %s"),
				    path,
				    g_strerror(errsv));
			return FALSE;
		}
		if (g_get_monotonic_time() >= deadline) {
			g_set_error(error,
				    MO_ERROR,
				    MO_ERROR_TRANSIENT,
				    _("Another process has held %s for %u s; try again later"),
				    path,
				    seconds);
			return FALSE;
		}
		g_usleep(pause_us);
		pause_us = MIN(pause_us * 2, 50000);
	}
	return TRUE;
}

/* Waits at most @seconds for the lock (0: as long as it takes). */
MoLock *
mo_lock_acquire_within(const gchar *path, guint seconds, GError **error)
{
	g_autofree gchar *dir = g_path_get_dirname(path);
	MoLock *lock;
	int fd;

	g_return_val_if_fail(error == NULL || *error == NULL, NULL);

	fd = mo_lock_open(path, dir, error);
	if (fd < 0)
		return NULL;
	if (!mo_lock_wait(fd, path, seconds, error)) {
		close(fd);
		return NULL;
	}
	lock = g_new0(MoLock, 1);
	lock->fd = fd;
	return lock;
}

/* Blocks until no other process holds the lock. */
MoLock *
mo_lock_acquire(const gchar *path, GError **error)
{
	return mo_lock_acquire_within(path, 0, error);
}

void
mo_lock_release(MoLock *lock)
{
	if (lock == NULL)
		return;
	/* closing drops the flock */
	close(lock->fd);
	g_free(lock);
}
