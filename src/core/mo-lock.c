/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gi18n-lib.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mo-error.h"
#include "mo-lock.h"

#define MO_LOCK_SUFFIX ".lock"
/* How often a lock file that disappears between "it exists" and "open it" is made again. */
#define MO_LOCK_OPEN_TRIES 8

struct _MoLock {
	int fd;
};

/* Whom a new lock file is made for, and whose existing one is used. */
typedef struct {
	uid_t uid;
	gid_t gid;
	mode_t mode;
	gboolean group_shared; /* members of gid lock it too */
} MoLockOwner;

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
	g_autofree gchar *name = g_strdup_printf("%.32s" MO_LOCK_SUFFIX, hash);
	g_autofree gchar *dir = mo_lock_runtime_dir();

	return g_build_filename(dir, "mailoauth", name, NULL);
}

/**
 * mo_lock_path_for_file:
 * @path: a file that several processes rewrite, such as a token file
 *
 * Its lock, ".NAME.lock" beside it: every process that can replace the file (which takes
 * write access to its directory) can also make the lock. mo_lock_acquire() knows such a lock
 * by its name and makes it for the file's owner and group.
 *
 * Returns: (transfer full): the path of the lock
 */
gchar *
mo_lock_path_for_file(const gchar *path)
{
	g_autofree gchar *dir = NULL;
	g_autofree gchar *base = NULL;
	g_autofree gchar *name = NULL;

	g_return_val_if_fail(path != NULL, NULL);

	dir = g_path_get_dirname(path);
	base = g_path_get_basename(path);
	name = g_strdup_printf(".%s" MO_LOCK_SUFFIX, base);
	return g_build_filename(dir, name, NULL);
}

/* The file that @path is the lock of (mo_lock_path_for_file()), or NULL for a lock of its own
 * such as an account's in the runtime directory. */
static gchar *
mo_lock_guarded_file(const gchar *path)
{
	g_autofree gchar *base = g_path_get_basename(path);
	g_autofree gchar *dir = NULL;
	gsize len = strlen(base);

	if (base[0] != '.' || len <= 1 + strlen(MO_LOCK_SUFFIX) ||
	    !g_str_has_suffix(base, MO_LOCK_SUFFIX))
		return NULL;
	base[len - strlen(MO_LOCK_SUFFIX)] = '\0';
	dir = g_path_get_dirname(path);
	return g_build_filename(dir, base + 1, NULL);
}

/* The lock of a token file is for those the file's owner lets rewrite it: the owner, and the
 * file's group when the file is group-writable (root:postfix 0660, refreshed by root's timer
 * and by postfix's smtp process). So it gets the file's owner and group, and 0660 or 0600 to
 * match, whoever makes it first. A group that may only read the file gets no lock it could
 * hold against the owner's refresh; root opens any lock; other users none (the file store
 * refuses a directory they can write). */
static gboolean
mo_lock_owner_of_file(const gchar *file, MoLockOwner *owner, GError **error)
{
	struct stat st;

	if (lstat(file, &st) != 0) {
		int errsv = errno;
		g_set_error(error,
			    MO_ERROR,
			    MO_ERROR_FAILED,
			    _("Cannot lock %s: %s"),
			    file,
			    g_strerror(errsv));
		return FALSE;
	}
	if (!S_ISREG(st.st_mode)) {
		g_set_error(error,
			    MO_ERROR,
			    MO_ERROR_FAILED,
			    _("Cannot lock %s: it is not a regular file"),
			    file);
		return FALSE;
	}
	owner->uid = st.st_uid;
	owner->gid = st.st_gid;
	owner->group_shared = (st.st_mode & S_IWGRP) != 0;
	owner->mode = owner->group_shared ? 0660 : 0600;

	/* success */
	return TRUE;
}

/* A lock of its own (made 0700 if missing) is its user's, 0600. Root gives it to the
 * directory's owner, so that a later run as that user can still open it. */
static gboolean
mo_lock_owner_of_dir(const gchar *dir, MoLockOwner *owner, GError **error)
{
	struct stat st;

	if (g_mkdir_with_parents(dir, 0700) != 0 || stat(dir, &st) != 0) {
		int errsv = errno;
		g_set_error(error,
			    MO_ERROR,
			    MO_ERROR_FAILED,
			    _("Cannot create %s: %s"),
			    dir,
			    g_strerror(errsv));
		return FALSE;
	}
	owner->uid = geteuid() == 0 ? st.st_uid : geteuid();
	owner->gid = geteuid() == 0 ? st.st_gid : getegid();
	owner->group_shared = FALSE;
	owner->mode = 0600;

	/* success */
	return TRUE;
}

/* Who the lock at @path is for: the file it guards, else the directory it is in. */
static gboolean
mo_lock_owner_for(const gchar *path, MoLockOwner *owner, GError **error)
{
	g_autofree gchar *file = mo_lock_guarded_file(path);
	g_autofree gchar *dir = NULL;

	if (file != NULL)
		return mo_lock_owner_of_file(file, owner, error);
	dir = g_path_get_dirname(path);
	return mo_lock_owner_of_dir(dir, owner, error);
}

/* Hands a lock file we have just made (and only such a one) to @owner, with @owner's mode
 * whatever the umask. Only root can give a file away; a member of a shared file's group can
 * still give the lock to that group. Failing is not fatal: the lock works for us. */
static void
mo_lock_give(int fd, const gchar *path, const MoLockOwner *owner)
{
	gboolean root = geteuid() == 0;
	uid_t uid = root ? owner->uid : (uid_t)-1;
	gid_t gid = root || owner->group_shared ? owner->gid : (gid_t)-1;

	if ((root || owner->group_shared) && fchown(fd, uid, gid) != 0)
		g_debug("cannot give the lock file %s to %u:%u: %s",
			path,
			(guint)owner->uid,
			(guint)owner->gid,
			g_strerror(errno));
	if (fchmod(fd, owner->mode) != 0)
		g_debug("cannot set the mode of the lock file %s: %s", path, g_strerror(errno));
}

/* Root, we ourselves and the owner of what the lock is for may have made it; so may a member
 * of the group of a shared file: the lock's group says so, as a new file takes its maker's
 * group (or its setgid directory's, and only those who may write there can make it). */
static gboolean
mo_lock_may_be_from(const MoLockOwner *owner, const struct stat *st)
{
	if (st->st_uid == 0 || st->st_uid == geteuid() || st->st_uid == owner->uid)
		return TRUE;
	return owner->group_shared && st->st_gid == owner->gid;
}

/* An existing lock file is used as it is, never changed: it may be whatever someone who can
 * write the directory put there, such as a hard link to one of root's files. Closes @fd when
 * refused. */
static int
mo_lock_check(int fd, const gchar *path, const MoLockOwner *owner, GError **error)
{
	struct stat st;

	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_nlink != 1) {
		close(fd);
		g_set_error(error,
			    MO_ERROR,
			    MO_ERROR_FAILED,
			    _("Refusing the lock file %s: it is not a regular file with a single "
			      "link; remove it"),
			    path);
		return -1;
	}
	if (!mo_lock_may_be_from(owner, &st)) {
		close(fd);
		g_set_error(
			error,
			MO_ERROR,
			MO_ERROR_FAILED,
			_("Refusing the lock file %s: it belongs to uid %u, who has no say over "
			  "what it locks; remove it"),
			path,
			(guint)st.st_uid);
		return -1;
	}

	/* success */
	return fd;
}

/* Our own new lock file (O_EXCL), or the one that is there, checked; never a symlink, and
 * never blocking on a FIFO or a device. */
static int
mo_lock_open(const gchar *path, const MoLockOwner *owner, GError **error)
{
	int errsv = 0;

	for (guint i = 0; i < MO_LOCK_OPEN_TRIES; i++) {
		int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd >= 0) {
			mo_lock_give(fd, path, owner);
			return fd;
		}
		errsv = errno;
		if (errsv != EEXIST)
			break;
		fd = open(path, O_RDWR | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
		if (fd >= 0)
			return mo_lock_check(fd, path, owner, error);
		errsv = errno;
		/* gone meanwhile (mailoauth-export-helper remove): make it again */
		if (errsv != ENOENT)
			break;
	}
	if (errsv == EACCES)
		g_set_error(error,
			    MO_ERROR,
			    MO_ERROR_FAILED,
			    _("Cannot open the lock file %s: %s; if an older mailoauth made it, "
			      "remove it: it is made again for all who may refresh"),
			    path,
			    g_strerror(errsv));
	else
		g_set_error(error,
			    MO_ERROR,
			    MO_ERROR_FAILED,
			    _("Cannot open the lock file %s: %s"),
			    path,
			    errsv == ELOOP ? _("it is a symbolic link") : g_strerror(errsv));
	return -1;
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

/**
 * mo_lock_acquire_within:
 * @path: the lock file: mo_lock_path_for_account(), mo_lock_path_for_file() or any other
 * @seconds: how long to wait for another holder at most; 0 waits as long as it takes
 * @error: return location for a #GError
 *
 * Takes the lock, making its file if needed: a lock of mo_lock_path_for_file() for the
 * owner and group of its file, any other for the owner of its directory. An existing lock
 * file is used only when it is a regular file with a single link, made by root, by us or by
 * one of those it is for; it is never changed.
 *
 * Returns: (transfer full): the lock, held until mo_lock_release()
 */
MoLock *
mo_lock_acquire_within(const gchar *path, guint seconds, GError **error)
{
	MoLockOwner owner = {0};
	MoLock *lock;
	int fd;

	g_return_val_if_fail(path != NULL, NULL);
	g_return_val_if_fail(error == NULL || *error == NULL, NULL);

	if (!mo_lock_owner_for(path, &owner, error))
		return NULL;
	fd = mo_lock_open(path, &owner, error);
	if (fd < 0)
		return NULL;
	if (!mo_lock_wait(fd, path, seconds, error)) {
		close(fd);
		return NULL;
	}
	lock = g_new0(MoLock, 1);
	lock->fd = fd;

	/* success */
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
