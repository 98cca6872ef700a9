/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * mailoauth-export-helper: puts a token file where postfix reads it. Postfix cannot reach a
 * user's keyring, so `mailoauth export ACCOUNT` reads the keyring as the user and runs this,
 * as root through pkexec (or run by root directly), with the token file on stdin:
 *
 *   mailoauth-export-helper write ACCOUNT    a sasl-xoauth2 token file JSON on stdin
 *   mailoauth-export-helper remove ACCOUNT   removes the file, its lock and its status
 *   mailoauth-export-helper locate ACCOUNT   prints where the file is (writes nothing)
 *   mailoauth-export-helper apply ACCOUNT [HOST]:PORT
 *                                            sets postfix up to relay through HOST with the
 *                                            exported file (sasl_passwd, postmap, postconf -e;
 *                                            main.cf backed up first)
 *
 * write and locate print file=REAL_PATH, path=POSTFIX_PATH and chroot=yes|no on stdout.
 *
 * Exit codes (MoExportHelperExit, mo-export-layout.h):
 *
 *   0  ok
 *   1  I/O failure
 *   2  usage: argument count, invalid account name
 *   3  invalid token JSON on stdin
 *   4  not running as root
 *   5  unsafe target: symlink, wrong owner, loose permissions, hard link
 *   6  configuration problem: config file not root's or invalid, postconf failed, no such
 *      mail owner
 *   7  no such export (remove, apply)
 *
 * Modelled on gnome-settings-daemon's backlight helper: small, libc and GLib and mailoauth's
 * base library only (no GIO, no libcurl, no libsecret), and trusting nothing of its caller's
 * but the account name, which is checked, and the token, which is parsed and checked. Where
 * it writes comes from root's configuration and from postfix; it never opens a path the
 * caller chose, and walks to its directory one openat() at a time without following symlinks.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gi18n.h>
#include <locale.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mo-export-layout.h"
#include "mo-export-status.h"
#include "mo-file.h"
#include "mo-postfix-config.h"
#include "mo-secure.h"
#include "mo-token.h"

#define MO_HELPER_NAME "mailoauth-export-helper"
/* Largest token file accepted on stdin; sasl-xoauth2's are well under 8 KiB. */
#define MO_HELPER_INPUT_MAX (64 * 1024)
/* The test-only configuration override; see mo_helper_conf_path(). */
#define MO_HELPER_CONF_ENV "MAILOAUTH_EXPORT_CONF"
/* Seconds to wait for a refresh that holds the token file's lock. */
#define MO_HELPER_LOCK_WAIT	30
#define MO_HELPER_LOCK_PAUSE_US 20000
/* Random temporary names tried before giving up. */
#define MO_HELPER_TEMP_TRIES	  16
#define MO_HELPER_PARENT_MODE	  0755
#define MO_HELPER_TOKEN_DIR_MODE  0700
#define MO_HELPER_STATUS_DIR_MODE 0755
#define MO_HELPER_TOKEN_MODE	  0600

/* Every error carries the exit code it ends with. */
#define MO_HELPER_ERROR (mo_helper_error_quark())
static GQuark mo_helper_error_quark(void);
G_DEFINE_QUARK(mo_export_helper_error, mo_helper_error)

typedef struct {
	const gchar *account;
	const gchar *relay; /* apply only */
	MoExportLayout *layout;
	int token_dir_fd;
	int status_dir_fd; /* -1 when remove finds none */
	int lock_fd;
} MoHelper;

typedef struct {
	gchar *data; /* secret; MO_HELPER_INPUT_MAX + 2 bytes */
	gsize len;
} MoHelperInput;

static void
mo_helper_close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

#define mo_autofd __attribute__((cleanup(mo_helper_close_fd)))

static int
mo_helper_steal_fd(int *fd)
{
	int stolen = *fd;
	*fd = -1;
	return stolen;
}

static void
mo_helper_input_free(MoHelperInput *input)
{
	mo_secure_wipe(input->data, MO_HELPER_INPUT_MAX + 2);
	g_free(input->data);
	g_free(input);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC(MoHelperInput, mo_helper_input_free)

/* Sets @error with the exit code @code; returns FALSE, for `return mo_helper_fail(…)`. */
static gboolean G_GNUC_PRINTF(3, 4)
	mo_helper_fail(GError **error, MoExportHelperExit code, const gchar *format, ...)
{
	g_autofree gchar *message = NULL;
	va_list args;

	va_start(args, format);
	message = g_strdup_vprintf(format, args);
	va_end(args);
	g_set_error_literal(error, MO_HELPER_ERROR, code, message);
	return FALSE;
}

static gchar *
mo_helper_user_name(uid_t uid)
{
	struct passwd *pw = getpwuid(uid);

	if (pw == NULL)
		return g_strdup_printf("uid %u", (guint)uid);
	return g_strdup(pw->pw_name);
}

/* SECURITY: root writes where the configuration says and gives the files to the user it names,
 * so the configuration must come from root alone: the default file, which must be root's and
 * closed to others (mo_export_layout_load). The override is for the tests, which run the helper
 * directly as root. pkexec both clears the environment and sets PKEXEC_UID, so a variable that
 * came through pkexec is refused twice over: a caller cannot choose the directory root writes
 * to, nor the owner of what it writes. sudo's env_reset drops the variable as well; a sudoers
 * rule for this helper must not keep it. */
static const gchar *
mo_helper_conf_path(void)
{
	const gchar *override = g_getenv(MO_HELPER_CONF_ENV);

	if (override != NULL && g_getenv("PKEXEC_UID") == NULL)
		return override;
	return mo_export_layout_default_conf();
}

static gboolean
mo_helper_load_layout(MoHelper *self, GError **error)
{
	g_autoptr(GError) error_local = NULL;

	self->layout = mo_export_layout_load(mo_helper_conf_path(), &error_local);
	if (self->layout == NULL)
		return mo_helper_fail(error,
				      MO_EXPORT_HELPER_EXIT_CONFIG,
				      "%s",
				      error_local->message);
	return TRUE;
}

/* Reads stdin to its end, refusing more than MO_HELPER_INPUT_MAX bytes. */
static MoHelperInput *
mo_helper_read_stdin(GError **error)
{
	g_autoptr(MoHelperInput) input = g_new0(MoHelperInput, 1);

	input->data = g_malloc0(MO_HELPER_INPUT_MAX + 2);
	while (input->len <= MO_HELPER_INPUT_MAX) {
		ssize_t n = read(STDIN_FILENO,
				 input->data + input->len,
				 MO_HELPER_INPUT_MAX + 1 - input->len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int errsv = errno;
			mo_helper_fail(error,
				       MO_EXPORT_HELPER_EXIT_IO,
				       _("Cannot read the token file from standard input: %s"),
				       g_strerror(errsv));
			return NULL;
		}
		if (n == 0)
			return g_steal_pointer(&input);
		input->len += (gsize)n;
	}
	mo_helper_fail(error,
		       MO_EXPORT_HELPER_EXIT_INVALID_TOKEN,
		       _("The token file on standard input is larger than %d bytes"),
		       MO_HELPER_INPUT_MAX);
	return NULL;
}

/* Tokens end up in SMTP commands and in files other programs parse: printable ASCII only. */
static gboolean
mo_helper_token_is_printable(const gchar *token)
{
	for (const gchar *p = token; p != NULL && *p != '\0'; p++) {
		if ((guchar)*p < 0x20 || (guchar)*p > 0x7e)
			return FALSE;
	}
	return TRUE;
}

static MoTokenFile *
mo_helper_parse_token(const MoHelperInput *input, GError **error)
{
	g_autoptr(GError) error_local = NULL;
	g_autoptr(MoTokenFile) file = mo_token_file_parse(input->data,
							  (gssize)input->len,
							  _("on standard input"),
							  &error_local);

	if (file == NULL) {
		mo_helper_fail(error,
			       MO_EXPORT_HELPER_EXIT_INVALID_TOKEN,
			       "%s",
			       error_local->message);
		return NULL;
	}
	if (!mo_helper_token_is_printable(file->token->access_token) ||
	    !mo_helper_token_is_printable(file->token->refresh_token)) {
		mo_helper_fail(error,
			       MO_EXPORT_HELPER_EXIT_INVALID_TOKEN,
			       _("The token file on standard input has an access_token or "
				 "refresh_token with characters other than printable ASCII"));
		return NULL;
	}
	return g_steal_pointer(&file);
}

/* Root's, and nobody else can change what it holds: not writable by group or others, except
 * in a sticky directory such as /tmp, where others cannot rename or remove root's entries. */
static gboolean
mo_helper_check_root_dir(int fd, const gchar *path, GError **error)
{
	struct stat st;

	if (fstat(fd, &st) != 0) {
		int errsv = errno;
		return mo_helper_fail(error,
				      MO_EXPORT_HELPER_EXIT_IO,
				      _("Cannot read %s: %s"),
				      path,
				      g_strerror(errsv));
	}
	if (st.st_uid != 0) {
		g_autofree gchar *owner = mo_helper_user_name(st.st_uid);
		return mo_helper_fail(error,
				      MO_EXPORT_HELPER_EXIT_UNSAFE,
				      _("%s is owned by %s, expected root"),
				      path,
				      owner);
	}
	if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0 && (st.st_mode & S_ISVTX) == 0) {
		return mo_helper_fail(error,
				      MO_EXPORT_HELPER_EXIT_UNSAFE,
				      _("%s is writable by group or others (mode %04o)"),
				      path,
				      (guint)(st.st_mode & 07777));
	}
	return TRUE;
}

static void
mo_helper_fail_open(GError **error, const gchar *path, int errsv)
{
	if (errsv == ENOENT)
		mo_helper_fail(error,
			       MO_EXPORT_HELPER_EXIT_NO_EXPORT,
			       _("%s does not exist"),
			       path);
	else if (errsv == ELOOP || errsv == ENOTDIR)
		mo_helper_fail(error,
			       MO_EXPORT_HELPER_EXIT_UNSAFE,
			       _("%s is a symbolic link or not a directory"),
			       path);
	else
		mo_helper_fail(error,
			       MO_EXPORT_HELPER_EXIT_IO,
			       _("Cannot open %s: %s"),
			       path,
			       g_strerror(errsv));
}

/* The directory @name below @parent_fd, never through a symlink; when missing and @create,
 * made 0700 (the caller gives it its owner and mode). */
static int
mo_helper_open_dir_at(int parent_fd,
		      const gchar *name,
		      const gchar *path,
		      gboolean create,
		      gboolean *created,
		      GError **error)
{
	int fd = openat(parent_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

	*created = FALSE;
	if (fd < 0 && errno == ENOENT && create) {
		if (mkdirat(parent_fd, name, 0700) == 0) {
			*created = TRUE;
		} else if (errno != EEXIST) {
			int errsv = errno;
			mo_helper_fail(error,
				       MO_EXPORT_HELPER_EXIT_IO,
				       _("Cannot create %s: %s"),
				       path,
				       g_strerror(errsv));
			return -1;
		}
		fd = openat(parent_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	}
	if (fd < 0)
		mo_helper_fail_open(error, path, errno);
	return fd;
}

/* Opens @path from / down, one component at a time, each one root's and closed to others;
 * missing ones are made, root's, 0755, when @create. */
static int
mo_helper_open_root_path(const gchar *path, gboolean create, GError **error)
{
	g_auto(GStrv) parts = g_strsplit(path, "/", -1);
	g_autoptr(GString) walked = g_string_new(NULL);
	mo_autofd int fd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0) {
		mo_helper_fail_open(error, "/", errno);
		return -1;
	}
	if (!mo_helper_check_root_dir(fd, "/", error))
		return -1;
	for (guint i = 0; parts[i] != NULL; i++) {
		mo_autofd int next = -1;
		gboolean created = FALSE;

		if (parts[i][0] == '\0')
			continue;
		g_string_append_printf(walked, "/%s", parts[i]);
		next = mo_helper_open_dir_at(fd, parts[i], walked->str, create, &created, error);
		if (next < 0)
			return -1;
		if (created && fchmod(next, MO_HELPER_PARENT_MODE) != 0) {
			mo_helper_fail_open(error, walked->str, errno);
			return -1;
		}
		if (!mo_helper_check_root_dir(next, walked->str, error))
			return -1;
		mo_helper_close_fd(&fd);
		fd = mo_helper_steal_fd(&next);
	}
	return mo_helper_steal_fd(&fd);
}

/* The mail owner's and closed to writes by anyone else; permissions beyond @mode (a 0755
 * token directory) are taken away. */
static gboolean
mo_helper_check_owned_dir(int fd,
			  const gchar *path,
			  mode_t mode,
			  const MoExportLayout *layout,
			  GError **error)
{
	struct stat st;

	if (fstat(fd, &st) != 0) {
		mo_helper_fail_open(error, path, errno);
		return FALSE;
	}
	if (st.st_uid != layout->uid) {
		g_autofree gchar *owner = mo_helper_user_name(st.st_uid);
		return mo_helper_fail(error,
				      MO_EXPORT_HELPER_EXIT_UNSAFE,
				      _("%s is owned by %s, expected %s"),
				      path,
				      owner,
				      layout->mail_owner);
	}
	if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
		return mo_helper_fail(
			error,
			MO_EXPORT_HELPER_EXIT_UNSAFE,
			_("%s is writable by group or others (mode %04o, expected %04o)"),
			path,
			(guint)(st.st_mode & 07777),
			(guint)mode);
	}
	if ((st.st_mode & 07777 & ~mode) != 0 && fchmod(fd, mode) != 0) {
		mo_helper_fail_open(error, path, errno);
		return FALSE;
	}
	return TRUE;
}

/* The token or status directory @path, below @parent_fd: the mail owner's, made if missing and
 * @create. */
static int
mo_helper_open_owned_dir(int parent_fd,
			 const gchar *path,
			 mode_t mode,
			 const MoExportLayout *layout,
			 gboolean create,
			 GError **error)
{
	g_autofree gchar *name = g_path_get_basename(path);
	gboolean created = FALSE;
	mo_autofd int fd = mo_helper_open_dir_at(parent_fd, name, path, create, &created, error);

	if (fd < 0)
		return -1;
	if (created && (fchown(fd, layout->uid, layout->gid) != 0 || fchmod(fd, mode) != 0)) {
		mo_helper_fail_open(error, path, errno);
		return -1;
	}
	if (!mo_helper_check_owned_dir(fd, path, mode, layout, error))
		return -1;
	return mo_helper_steal_fd(&fd);
}

/* The token directory, and the status directory beside it (which remove may not find). */
static gboolean
mo_helper_open_dirs(MoHelper *self, gboolean create, GError **error)
{
	const MoExportLayout *layout = self->layout;
	g_autofree gchar *parent = g_path_get_dirname(layout->real_directory);
	g_autoptr(GError) error_local = NULL;
	mo_autofd int parent_fd = mo_helper_open_root_path(parent, create, error);

	if (parent_fd < 0)
		return FALSE;
	self->token_dir_fd = mo_helper_open_owned_dir(parent_fd,
						      layout->real_directory,
						      MO_HELPER_TOKEN_DIR_MODE,
						      layout,
						      create,
						      error);
	if (self->token_dir_fd < 0)
		return FALSE;
	self->status_dir_fd = mo_helper_open_owned_dir(parent_fd,
						       layout->status_directory,
						       MO_HELPER_STATUS_DIR_MODE,
						       layout,
						       create,
						       &error_local);
	if (self->status_dir_fd < 0 &&
	    (create ||
	     !g_error_matches(error_local, MO_HELPER_ERROR, MO_EXPORT_HELPER_EXIT_NO_EXPORT))) {
		g_propagate_error(error, g_steal_pointer(&error_local));
		return FALSE;
	}
	return TRUE;
}

/* A file we are about to replace or remove must be one we wrote: a regular file of the mail
 * owner's with no other link. *exists says whether there is one. */
static gboolean
mo_helper_check_target(int dir_fd,
		       const gchar *dir,
		       const gchar *name,
		       const MoExportLayout *layout,
		       gboolean *exists,
		       GError **error)
{
	g_autofree gchar *path = g_build_filename(dir, name, NULL);
	g_autofree gchar *owner = NULL;
	struct stat st;

	*exists = FALSE;
	if (fstatat(dir_fd, name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
		int errsv = errno;
		if (errsv == ENOENT)
			return TRUE;
		return mo_helper_fail(error,
				      MO_EXPORT_HELPER_EXIT_IO,
				      _("Cannot read %s: %s"),
				      path,
				      g_strerror(errsv));
	}
	*exists = TRUE;
	if (S_ISLNK(st.st_mode) || !S_ISREG(st.st_mode))
		return mo_helper_fail(error,
				      MO_EXPORT_HELPER_EXIT_UNSAFE,
				      _("%s is a symbolic link or not a regular file"),
				      path);
	if (st.st_nlink != 1)
		return mo_helper_fail(error,
				      MO_EXPORT_HELPER_EXIT_UNSAFE,
				      _("%s has other hard links"),
				      path);
	if (st.st_uid == layout->uid)
		return TRUE;
	owner = mo_helper_user_name(st.st_uid);
	return mo_helper_fail(error,
			      MO_EXPORT_HELPER_EXIT_UNSAFE,
			      _("%s is owned by %s, expected %s"),
			      path,
			      owner,
			      layout->mail_owner);
}

/* Waits up to MO_HELPER_LOCK_WAIT seconds for a refresh that holds the lock. */
static gboolean
mo_helper_flock(int fd, const gchar *path, GError **error)
{
	gint64 deadline = g_get_monotonic_time() + MO_HELPER_LOCK_WAIT * G_USEC_PER_SEC;

	while (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		int errsv = errno;
		if (errsv == EINTR)
			continue;
		if (errsv != EWOULDBLOCK)
			return mo_helper_fail(error,
					      MO_EXPORT_HELPER_EXIT_IO,
					      _("Cannot lock %s: %s"),
					      path,
					      g_strerror(errsv));
		if (g_get_monotonic_time() >= deadline)
			return mo_helper_fail(
				error,
				MO_EXPORT_HELPER_EXIT_IO,
				_("Another process has held %s for %d s; try again later"),
				path,
				MO_HELPER_LOCK_WAIT);
		g_usleep(MO_HELPER_LOCK_PAUSE_US);
	}
	return TRUE;
}

/* The lock the SASL plugin and `mailoauth refresh` hold while they rewrite the token file
 * (.ACCOUNT.lock beside it, the mail owner's): an export must not cross a refresh's
 * write-back. */
static gboolean
mo_helper_lock(MoHelper *self, GError **error)
{
	g_autofree gchar *name = g_strdup_printf(".%s.lock", self->account);
	g_autofree gchar *path = g_build_filename(self->layout->real_directory, name, NULL);
	gboolean exists = FALSE;
	struct stat st;

	if (fstatat(self->token_dir_fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0)
		exists = TRUE;
	if (exists && (!S_ISREG(st.st_mode) || st.st_nlink != 1))
		return mo_helper_fail(error,
				      MO_EXPORT_HELPER_EXIT_UNSAFE,
				      _("%s is not a regular file with a single link"),
				      path);
	self->lock_fd = openat(self->token_dir_fd,
			       name,
			       O_RDWR | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC,
			       0600);
	if (self->lock_fd < 0) {
		mo_helper_fail_open(error, path, errno);
		return FALSE;
	}
	if (fstat(self->lock_fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_nlink != 1)
		return mo_helper_fail(error,
				      MO_EXPORT_HELPER_EXIT_UNSAFE,
				      _("%s is not a regular file with a single link"),
				      path);
	if (fchown(self->lock_fd, self->layout->uid, self->layout->gid) != 0) {
		mo_helper_fail_open(error, path, errno);
		return FALSE;
	}
	return mo_helper_flock(self->lock_fd, path, error);
}

static int
mo_helper_create_temp(int dir_fd, const gchar *name, gchar **tmp)
{
	for (guint i = 0; i < MO_HELPER_TEMP_TRIES; i++) {
		int fd;
		g_free(*tmp);
		*tmp = g_strdup_printf(".%s.%08x.tmp", name, g_random_int());
		fd = openat(dir_fd,
			    *tmp,
			    O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
			    0600);
		if (fd >= 0 || errno != EEXIST)
			return fd;
	}
	errno = EEXIST;
	return -1;
}

/* Owner and mode before the data, so that it is never readable by anyone else. */
static gboolean
mo_helper_fill(int fd, const gchar *data, gsize len, mode_t mode, const MoExportLayout *layout)
{
	return fchown(fd, layout->uid, layout->gid) == 0 && fchmod(fd, mode) == 0 &&
	       mo_file_write_all(fd, data, len) && fsync(fd) == 0;
}

/* Replaces @name in the directory @dir_fd (@dir in messages) atomically: a new file beside it
 * (O_EXCL, O_NOFOLLOW), the mail owner's, mode @mode, synced, renamed over the old one, then
 * the directory synced. A crash leaves the old file or the new one. */
static gboolean
mo_helper_replace_at(int dir_fd,
		     const gchar *dir,
		     const gchar *name,
		     const gchar *data,
		     mode_t mode,
		     const MoExportLayout *layout,
		     GError **error)
{
	g_autofree gchar *path = g_build_filename(dir, name, NULL);
	g_autofree gchar *tmp = NULL;
	int fd = mo_helper_create_temp(dir_fd, name, &tmp);
	gboolean ok = fd >= 0 && mo_helper_fill(fd, data, strlen(data), mode, layout);
	int errsv = errno;

	if (fd >= 0 && close(fd) != 0 && ok) {
		ok = FALSE;
		errsv = errno;
	}
	if (ok && renameat(dir_fd, tmp, dir_fd, name) != 0) {
		ok = FALSE;
		errsv = errno;
	}
	if (!ok && fd >= 0)
		unlinkat(dir_fd, tmp, 0);
	if (ok && fsync(dir_fd) != 0) {
		ok = FALSE;
		errsv = errno;
	}
	if (!ok)
		return mo_helper_fail(error,
				      MO_EXPORT_HELPER_EXIT_IO,
				      _("Cannot write %s: %s"),
				      path,
				      g_strerror(errsv));

	/* success */
	return TRUE;
}

static gboolean
mo_helper_write_token(MoHelper *self, MoTokenFile *file, GError **error)
{
	mo_autosecret gchar *data = mo_token_file_serialize(file);
	gboolean exists = FALSE;

	return mo_helper_check_target(self->token_dir_fd,
				      self->layout->real_directory,
				      self->account,
				      self->layout,
				      &exists,
				      error) &&
	       mo_helper_replace_at(self->token_dir_fd,
				    self->layout->real_directory,
				    self->account,
				    data,
				    MO_HELPER_TOKEN_MODE,
				    self->layout,
				    error);
}

/* A fresh export: its expiry, refreshed now, no error. */
static gboolean
mo_helper_write_status(MoHelper *self, const MoTokenFile *file, GError **error)
{
	g_autoptr(MoExportStatus) status = mo_export_status_new();
	g_autofree gchar *json = NULL;
	gint64 now = g_get_real_time() / G_USEC_PER_SEC;
	gboolean exists = FALSE;

	status->account = g_strdup(self->account);
	status->path = mo_export_layout_postfix_path(self->layout, self->account);
	status->expiry = file->token->expiry;
	status->last_refresh = now;
	status->updated = now;
	json = mo_export_status_to_json(status);
	return mo_helper_check_target(self->status_dir_fd,
				      self->layout->status_directory,
				      self->account,
				      self->layout,
				      &exists,
				      error) &&
	       mo_helper_replace_at(self->status_dir_fd,
				    self->layout->status_directory,
				    self->account,
				    json,
				    MO_EXPORT_STATUS_MODE,
				    self->layout,
				    error);
}

static gboolean
mo_helper_print_location(MoHelper *self, GError **error)
{
	g_autofree gchar *file = mo_export_layout_file(self->layout, self->account);
	g_autofree gchar *path = mo_export_layout_postfix_path(self->layout, self->account);

	if (printf("file=%s\npath=%s\nchroot=%s\n",
		   file,
		   path,
		   self->layout->chrooted ? "yes" : "no") < 0 ||
	    fflush(stdout) != 0) {
		int errsv = errno;
		return mo_helper_fail(error,
				      MO_EXPORT_HELPER_EXIT_IO,
				      _("Cannot write to standard output: %s"),
				      g_strerror(errsv));
	}
	return TRUE;
}

static gboolean
mo_helper_write(MoHelper *self, GError **error)
{
	g_autoptr(MoHelperInput) input = mo_helper_read_stdin(error);
	g_autoptr(MoTokenFile) file = NULL;

	if (input == NULL)
		return FALSE;
	file = mo_helper_parse_token(input, error);
	if (file == NULL)
		return FALSE;
	if (!mo_helper_load_layout(self, error) || !mo_helper_open_dirs(self, TRUE, error) ||
	    !mo_helper_lock(self, error) || !mo_helper_write_token(self, file, error) ||
	    !mo_helper_write_status(self, file, error))
		return FALSE;
	return mo_helper_print_location(self, error);
}

/* Removes @name from @dir_fd if it is there and is one of ours. */
static gboolean
mo_helper_remove_at(int dir_fd,
		    const gchar *dir,
		    const gchar *name,
		    const MoExportLayout *layout,
		    gboolean *existed,
		    GError **error)
{
	g_autofree gchar *path = g_build_filename(dir, name, NULL);

	if (!mo_helper_check_target(dir_fd, dir, name, layout, existed, error))
		return FALSE;
	if (*existed && unlinkat(dir_fd, name, 0) != 0) {
		int errsv = errno;
		return mo_helper_fail(error,
				      MO_EXPORT_HELPER_EXIT_IO,
				      _("Cannot remove %s: %s"),
				      path,
				      g_strerror(errsv));
	}
	return TRUE;
}

/* The token file, its status and its lock, under the lock; *existed says whether there was a
 * token file. */
static gboolean
mo_helper_remove_files(MoHelper *self, gboolean *existed, GError **error)
{
	const MoExportLayout *layout = self->layout;
	g_autofree gchar *lock_name = g_strdup_printf(".%s.lock", self->account);
	gboolean status_existed = FALSE;

	if (!mo_helper_remove_at(self->token_dir_fd,
				 layout->real_directory,
				 self->account,
				 layout,
				 existed,
				 error))
		return FALSE;
	if (self->status_dir_fd >= 0 && !mo_helper_remove_at(self->status_dir_fd,
							     layout->status_directory,
							     self->account,
							     layout,
							     &status_existed,
							     error))
		return FALSE;
	/* still locked: a refresh waiting for it then finds no file */
	unlinkat(self->token_dir_fd, lock_name, 0);
	fsync(self->token_dir_fd);
	return TRUE;
}

static gboolean
mo_helper_remove(MoHelper *self, GError **error)
{
	g_autoptr(GError) error_local = NULL;
	g_autofree gchar *file = NULL;
	gboolean existed = FALSE;

	if (!mo_helper_load_layout(self, error))
		return FALSE;
	if (!mo_helper_open_dirs(self, FALSE, &error_local)) {
		if (g_error_matches(error_local, MO_HELPER_ERROR, MO_EXPORT_HELPER_EXIT_NO_EXPORT))
			g_prefix_error(&error_local, _("%s was not exported: "), self->account);
		g_propagate_error(error, g_steal_pointer(&error_local));
		return FALSE;
	}
	if (!mo_helper_lock(self, error) || !mo_helper_remove_files(self, &existed, error))
		return FALSE;
	if (existed)
		return TRUE;
	file = mo_export_layout_file(self->layout, self->account);
	return mo_helper_fail(error,
			      MO_EXPORT_HELPER_EXIT_NO_EXPORT,
			      _("%s was not exported: there is no %s"),
			      self->account,
			      file);
}

static gboolean
mo_helper_locate(MoHelper *self, GError **error)
{
	return mo_helper_load_layout(self, error) && mo_helper_print_location(self, error);
}

/* The SASL user of the exported file: what postfix will log in as, so that sasl_passwd
 * names the same user. Read from the file, never taken from the caller. */
static gchar *
mo_helper_read_user(MoHelper *self, GError **error)
{
	g_autofree gchar *path = mo_export_layout_file(self->layout, self->account);
	g_autoptr(MoTokenFile) file = NULL;
	g_autoptr(GError) error_local = NULL;
	mo_autosecret gchar *data = NULL;
	gboolean exists = FALSE;
	ssize_t n = -1;
	mo_autofd int fd = -1;

	if (!mo_helper_check_target(self->token_dir_fd,
				    self->layout->real_directory,
				    self->account,
				    self->layout,
				    &exists,
				    error))
		return NULL;
	if (!exists) {
		mo_helper_fail(error,
			       MO_EXPORT_HELPER_EXIT_NO_EXPORT,
			       _("%s was not exported: there is no %s; run “mailoauth export %s” "
				 "first"),
			       self->account,
			       path,
			       self->account);
		return NULL;
	}
	fd = openat(self->token_dir_fd, self->account, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	data = g_malloc0(MO_HELPER_INPUT_MAX + 1);
	if (fd >= 0)
		n = read(fd, data, MO_HELPER_INPUT_MAX);
	file = mo_token_file_parse(data, MAX(n, 0), path, &error_local);
	if (file == NULL || file->user == NULL || !mo_helper_token_is_printable(file->user)) {
		mo_helper_fail(error,
			       MO_EXPORT_HELPER_EXIT_INVALID_TOKEN,
			       _("%s names no usable user: %s"),
			       path,
			       error_local != NULL ? error_local->message : _("no “user” key"));
		return NULL;
	}
	return g_steal_pointer(&file->user);
}

static gboolean
mo_helper_apply(MoHelper *self, GError **error)
{
	g_autofree gchar *user = NULL;
	g_autofree gchar *path = NULL;
	g_autofree gchar *summary = NULL;
	g_autoptr(GError) error_local = NULL;

	if (!mo_postfix_relay_is_valid(self->relay, &error_local))
		return mo_helper_fail(error,
				      MO_EXPORT_HELPER_EXIT_USAGE,
				      "%s",
				      error_local->message);
	if (!mo_helper_load_layout(self, error) || !mo_helper_open_dirs(self, FALSE, error))
		return FALSE;
	user = mo_helper_read_user(self, error);
	if (user == NULL)
		return FALSE;
	path = mo_export_layout_postfix_path(self->layout, self->account);
	if (!mo_postfix_apply(MO_EXPORT_POSTCONF_DEFAULT,
			      self->layout->postfix_config,
			      self->relay,
			      user,
			      path,
			      &summary,
			      &error_local))
		return mo_helper_fail(error,
				      MO_EXPORT_HELPER_EXIT_CONFIG,
				      "%s",
				      error_local->message);
	g_print("%s", summary);
	return TRUE;
}

static const struct {
	const gchar *name;
	gboolean (*func)(MoHelper *self, GError **error);
} mo_helper_commands[] = {
	{"write", mo_helper_write},
	{"remove", mo_helper_remove},
	{"locate", mo_helper_locate},
	{"apply", mo_helper_apply},
};

static gint
mo_helper_usage(void)
{
	g_printerr("%s\n%s\n",
		   _("Usage: mailoauth-export-helper write|remove|locate ACCOUNT, or apply "
		     "ACCOUNT [HOST]:PORT"),
		   _("write reads a sasl-xoauth2 token file on standard input; run through "
		     "“mailoauth export”."));
	return MO_EXPORT_HELPER_EXIT_USAGE;
}

static gint
mo_helper_report(const GError *error)
{
	g_printerr("%s: %s\n", MO_HELPER_NAME, error->message);
	if (error->domain != MO_HELPER_ERROR)
		return MO_EXPORT_HELPER_EXIT_IO;
	return error->code;
}

static gint
mo_helper_run(guint command, const gchar *account, const gchar *relay)
{
	g_autoptr(GError) error = NULL;
	MoHelper self = {
		.account = account,
		.relay = relay,
		.token_dir_fd = -1,
		.status_dir_fd = -1,
		.lock_fd = -1,
	};
	gint rc = MO_EXPORT_HELPER_EXIT_OK;

	if (!mo_helper_commands[command].func(&self, &error))
		rc = mo_helper_report(error);
	/* closing the lock file drops the lock */
	mo_helper_close_fd(&self.lock_fd);
	mo_helper_close_fd(&self.status_dir_fd);
	mo_helper_close_fd(&self.token_dir_fd);
	mo_export_layout_free(self.layout);
	return rc;
}

int
main(int argc, char **argv)
{
	g_autoptr(GError) error = NULL;
	guint command = G_N_ELEMENTS(mo_helper_commands);

	setlocale(LC_ALL, "");
	bindtextdomain(GETTEXT_PACKAGE, LOCALEDIR);
	bind_textdomain_codeset(GETTEXT_PACKAGE, "UTF-8");
	textdomain(GETTEXT_PACKAGE);
	/* every mode is set explicitly; this only narrows the moments in between */
	umask(077);

	for (guint i = 0; i < G_N_ELEMENTS(mo_helper_commands); i++) {
		/* apply takes the relay too */
		gint nargs = g_strcmp0(mo_helper_commands[i].name, "apply") == 0 ? 4 : 3;
		if (argc == nargs && g_strcmp0(argv[1], mo_helper_commands[i].name) == 0)
			command = i;
	}
	if (command == G_N_ELEMENTS(mo_helper_commands))
		return mo_helper_usage();
	if (getuid() != 0 || geteuid() != 0) {
		g_printerr("%s: %s\n",
			   MO_HELPER_NAME,
			   _("must run as root, through pkexec (“mailoauth export” does this)"));
		return MO_EXPORT_HELPER_EXIT_NOT_ROOT;
	}
	if (!mo_export_name_is_valid(argv[2], &error)) {
		g_printerr("%s: %s\n", MO_HELPER_NAME, error->message);
		return MO_EXPORT_HELPER_EXIT_USAGE;
	}
	return mo_helper_run(command, argv[2], argc == 4 ? argv[3] : NULL);
}
