/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <poll.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "mo-error.h"
#include "mo-lock.h"
#include "mo-test.h"

/* how long the parent waits to see that the child is still blocked, and at most for it to
 * get the lock once released; the child gives up by itself after MO_TEST_CHILD_ALARM */
#define MO_TEST_BLOCKED_MS   300
#define MO_TEST_ACQUIRED_MS  10000
#define MO_TEST_CHILD_ALARM  20
#define MO_TEST_CHILD_LOCKED 'L'
/* "nobody"/"nogroup" on Debian: an owner that is not the test's (root's) */
#define MO_TEST_OTHER_UID 65534
#define MO_TEST_OTHER_GID 65534

static gchar *test_dir;

static gboolean
lock_is_held(const gchar *path)
{
	gint fd = open(path, O_RDWR | O_CLOEXEC);
	gboolean held;

	if (fd < 0)
		return FALSE;
	held = flock(fd, LOCK_EX | LOCK_NB) != 0 && errno == EWOULDBLOCK;
	close(fd);
	return held;
}

static void
test_path_under_runtime_dir(void **state)
{
	g_autofree gchar *path = mo_lock_path_for_account("me@example.com");
	g_autofree gchar *dir = g_build_filename(test_dir, "mailoauth", NULL);
	g_autofree gchar *parent = g_path_get_dirname(path);
	g_autofree gchar *base = g_path_get_basename(path);

	assert_string_equal(parent, dir);
	/* a hash: any account name makes a safe file name */
	assert_int_equal(strlen(base), 32 + strlen(".lock"));
	assert_true(g_str_has_suffix(base, ".lock"));
	for (guint i = 0; i < 32; i++)
		assert_true(g_ascii_isxdigit(base[i]));
	mo_assert_str_lacks(base, "example");
}

static void
test_path_per_account(void **state)
{
	g_autofree gchar *a = mo_lock_path_for_account("a@example.com");
	g_autofree gchar *a_again = mo_lock_path_for_account("a@example.com");
	g_autofree gchar *b = mo_lock_path_for_account("b@example.com");

	assert_string_equal(a, a_again);
	assert_string_not_equal(a, b);
}

static void
test_path_hostile_names(void **state)
{
	const gchar *names[] = {"../../etc/passwd", "a/b", "/abs", "..", "", "a\nb"};
	g_autofree gchar *dir = g_build_filename(test_dir, "mailoauth", NULL);

	for (guint i = 0; i < G_N_ELEMENTS(names); i++) {
		g_autofree gchar *path = mo_lock_path_for_account(names[i]);
		g_autofree gchar *parent = g_path_get_dirname(path);
		assert_string_equal(parent, dir);
	}
}

static void
test_acquire_release(void **state)
{
	g_autofree gchar *path = g_build_filename(test_dir, "sub", "dir", "x.lock", NULL);
	g_autofree gchar *dir = g_path_get_dirname(path);
	g_autoptr(GError) error = NULL;
	MoLock *lock;
	GStatBuf st;

	lock = mo_lock_acquire(path, &error);
	mo_assert_no_error(error);
	assert_non_null(lock);
	assert_true(lock_is_held(path));

	/* private: the directory and the file are the user's only */
	assert_int_equal(g_stat(dir, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	assert_int_equal(g_stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);

	mo_lock_release(lock);
	assert_false(lock_is_held(path));

	/* and again */
	lock = mo_lock_acquire(path, &error);
	mo_assert_no_error(error);
	assert_true(lock_is_held(path));
	mo_lock_release(lock);
	mo_lock_release(NULL);
}

static void
test_acquire_refuses_symlink(void **state)
{
	g_autofree gchar *target = g_build_filename(test_dir, "target", NULL);
	g_autofree gchar *path = g_build_filename(test_dir, "link.lock", NULL);
	g_autoptr(GError) error = NULL;
	g_autoptr(MoLock) lock = NULL;

	/* someone else's symlink in a shared directory must not make us open its target */
	mo_test_write_file(target, "");
	assert_int_equal(symlink(target, path), 0);
	lock = mo_lock_acquire(path, &error);
	assert_null(lock);
	mo_assert_error(error, MO_ERROR, MO_ERROR_FAILED);
	mo_assert_str_contains(error->message, path);
}

static void
test_acquire_unusable_dir(void **state)
{
	g_autofree gchar *file = g_build_filename(test_dir, "plain-file", NULL);
	g_autofree gchar *path = g_build_filename(file, "x.lock", NULL);
	g_autoptr(GError) error = NULL;
	g_autoptr(MoLock) lock = NULL;

	mo_test_write_file(file, "");
	lock = mo_lock_acquire(path, &error);
	assert_null(lock);
	mo_assert_error(error, MO_ERROR, MO_ERROR_FAILED);
	mo_assert_str_contains(error->message, file);
}

/* The child: once told to go, take the lock (blocking), say so; returns its exit status. No
 * cmocka here. */
static gint
child_take_lock(const gchar *path, gint go_fd, gint done_fd)
{
	const gchar msg = MO_TEST_CHILD_LOCKED;
	gchar go = 0;
	MoLock *lock;

	alarm(MO_TEST_CHILD_ALARM);
	if (read(go_fd, &go, 1) != 1)
		return 2;
	lock = mo_lock_acquire(path, NULL);
	if (lock == NULL)
		return 3;
	if (write(done_fd, &msg, 1) != 1) {
		mo_lock_release(lock);
		return 4;
	}
	mo_lock_release(lock);
	return 0;
}

/* 1 when a byte arrived within @timeout_ms, 0 when not. */
static gint
wait_readable(gint fd, gint timeout_ms)
{
	struct pollfd pfd = {.fd = fd, .events = POLLIN};
	gint rc;

	do
		rc = poll(&pfd, 1, timeout_ms);
	while (rc < 0 && errno == EINTR);
	return rc;
}

static void
kill_child(pid_t pid)
{
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

/* The child is forked before the parent takes the lock: a child forked while the lock is
 * held shares the parent's open file description, and with it the lock, until it exits. */
static void
test_other_process_waits(void **state)
{
	g_autofree gchar *path = mo_lock_path_for_account("me@example.com");
	g_autoptr(GError) error = NULL;
	const gchar go = 'g';
	MoLock *lock;
	gint go_fds[2];
	gint done_fds[2];
	gchar msg = 0;
	gint status = -1;
	pid_t pid;

	assert_int_equal(pipe(go_fds), 0);
	assert_int_equal(pipe(done_fds), 0);
	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		gint child_status;

		close(go_fds[1]);
		close(done_fds[0]);
		child_status = child_take_lock(path, go_fds[0], done_fds[1]);
		/* _exit() skips the cleanup of the parent's locals: free them, for valgrind */
		g_clear_pointer(&path, g_free);
		_exit(child_status);
	}
	close(go_fds[0]);
	close(done_fds[1]);

	lock = mo_lock_acquire(path, &error);
	mo_assert_no_error(error);
	assert_int_equal(write(go_fds[1], &go, 1), 1);
	/* the child must block while we hold the lock... */
	if (wait_readable(done_fds[0], MO_TEST_BLOCKED_MS) != 0) {
		kill_child(pid);
		fail_msg("the child got the lock while the parent held it");
	}
	/* ...and get it once we let go */
	mo_lock_release(lock);
	if (wait_readable(done_fds[0], MO_TEST_ACQUIRED_MS) != 1) {
		kill_child(pid);
		fail_msg("the child did not get the lock after the parent released it");
	}
	assert_int_equal(read(done_fds[0], &msg, 1), 1);
	assert_int_equal(msg, MO_TEST_CHILD_LOCKED);
	close(go_fds[1]);
	close(done_fds[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

/* --- issue 9: lock files that someone else put there, and whom a new one is made for --- */

/* Tests that make files for other users and become one: root only (as in CI). */
static void
skip_unless_root(void)
{
	if (geteuid() == 0)
		return;
	g_printerr("# skipped: needs root, to give files to other users and to become one\n");
	skip();
}

/* A fresh directory of root's (or the user's), 0755, for one test. */
static gchar *
case_dir(const gchar *name)
{
	gchar *dir = g_build_filename(test_dir, name, NULL);

	mo_test_rm_rf(dir);
	if (g_mkdir(dir, 0755) != 0)
		fail_msg("cannot create %s: %s", dir, g_strerror(errno));
	return dir;
}

static void
write_owned(const gchar *path, uid_t uid, gid_t gid, mode_t mode)
{
	mo_test_write_file(path, "x");
	if (geteuid() == 0 && chown(path, uid, gid) != 0)
		fail_msg("cannot chown %s: %s", path, g_strerror(errno));
	if (g_chmod(path, mode) != 0)
		fail_msg("cannot chmod %s: %s", path, g_strerror(errno));
}

static void
assert_owned(const gchar *path, uid_t uid, gid_t gid, mode_t mode)
{
	struct stat st;

	if (lstat(path, &st) != 0)
		fail_msg("cannot stat %s: %s", path, g_strerror(errno));
	if (st.st_uid != uid || st.st_gid != gid || (st.st_mode & 07777) != mode)
		fail_msg("%s is %u:%u %04o, expected %u:%u %04o",
			 path,
			 (guint)st.st_uid,
			 (guint)st.st_gid,
			 (guint)(st.st_mode & 07777),
			 (guint)uid,
			 (guint)gid,
			 (guint)mode);
}

/* Refused, at once, saying which file and (when given) why. */
static void
assert_lock_refused(const gchar *path, const gchar *why)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(MoLock) lock = mo_lock_acquire_within(path, 1, &error);

	if (lock != NULL)
		fail_msg("%s was used as a lock", path);
	mo_assert_error(error, MO_ERROR, MO_ERROR_FAILED);
	mo_assert_str_contains(error->message, path);
	if (why != NULL)
		mo_assert_str_contains(error->message, why);
}

static void
assert_lock_taken(const gchar *path)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(MoLock) lock = mo_lock_acquire_within(path, 1, &error);

	mo_assert_no_error(error);
	assert_non_null(lock);
	assert_true(lock_is_held(path));
}

/* Whoever can write the directory (here nobody's) can plant a hard link to one of root's
 * files as the lock file (root can link any file; fs.protected_hardlinks stops others only
 * for files they cannot write). Root used to open it O_CREAT and give it to the directory's
 * owner, handing over the file behind the link. Refused now, and the file left alone. Both a
 * lock of its own and a token file's lock (.NAME.lock). */
static void
test_acquire_refuses_hard_link(void **state)
{
	g_autofree gchar *dir = case_dir("hard-link");
	g_autofree gchar *victim = g_build_filename(test_dir, "hard-link-victim", NULL);
	g_autofree gchar *plain = g_build_filename(dir, "x.lock", NULL);
	g_autofree gchar *token = g_build_filename(dir, "token", NULL);
	g_autofree gchar *guarded = g_build_filename(dir, ".token.lock", NULL);

	write_owned(victim, geteuid(), getegid(), 0600);
	write_owned(token, MO_TEST_OTHER_UID, MO_TEST_OTHER_GID, 0600);
	if (geteuid() == 0)
		assert_int_equal(chown(dir, MO_TEST_OTHER_UID, MO_TEST_OTHER_GID), 0);
	assert_int_equal(link(victim, plain), 0);
	assert_int_equal(link(victim, guarded), 0);
	assert_lock_refused(plain, "single link");
	assert_lock_refused(guarded, "single link");
	assert_owned(victim, geteuid(), getegid(), 0600);
}

/* A FIFO (or anything else but a regular file) as the lock file is refused too. */
static void
test_acquire_refuses_fifo(void **state)
{
	g_autofree gchar *dir = case_dir("fifo");
	g_autofree gchar *path = g_build_filename(dir, "x.lock", NULL);
	g_autofree gchar *sub = g_build_filename(dir, "sub.lock", NULL);

	assert_int_equal(mkfifo(path, 0600), 0);
	assert_int_equal(g_mkdir(sub, 0700), 0);
	assert_lock_refused(path, "regular file");
	assert_lock_refused(sub, NULL);
}

/* A lock file that is there already is used as it is: not given to the directory's owner
 * (which root used to do), whoever made it. */
static void
test_acquire_leaves_existing_owner(void **state)
{
	g_autofree gchar *dir = case_dir("existing-owner");
	g_autofree gchar *plain = g_build_filename(dir, "x.lock", NULL);
	g_autofree gchar *token = g_build_filename(dir, "token", NULL);
	g_autofree gchar *guarded = g_build_filename(dir, ".token.lock", NULL);

	skip_unless_root();
	assert_int_equal(chown(dir, MO_TEST_OTHER_UID, MO_TEST_OTHER_GID), 0);
	write_owned(token, MO_TEST_OTHER_UID, MO_TEST_OTHER_GID, 0600);
	write_owned(plain, 0, 0, 0640);
	write_owned(guarded, 0, 0, 0640);
	assert_lock_taken(plain);
	assert_lock_taken(guarded);
	assert_owned(plain, 0, 0, 0640);
	assert_owned(guarded, 0, 0, 0640);
}

/* A lock file of a user who has no say over what it locks is not used: it could be held
 * for ever, or made so that the owner cannot open it. */
static void
test_acquire_refuses_foreign_owner(void **state)
{
	g_autofree gchar *dir = case_dir("foreign-owner");
	g_autofree gchar *plain = g_build_filename(dir, "x.lock", NULL);
	g_autofree gchar *token = g_build_filename(dir, "token", NULL);
	g_autofree gchar *guarded = g_build_filename(dir, ".token.lock", NULL);

	skip_unless_root();
	/* the group may read the file, not rewrite it: a lock of the group's is not taken */
	write_owned(token, 0, MO_TEST_OTHER_GID, 0640);
	write_owned(plain, MO_TEST_OTHER_UID, MO_TEST_OTHER_GID, 0666);
	write_owned(guarded, MO_TEST_OTHER_UID, MO_TEST_OTHER_GID, 0666);
	assert_lock_refused(plain, "uid 65534");
	assert_lock_refused(guarded, "uid 65534");
	assert_owned(plain, MO_TEST_OTHER_UID, MO_TEST_OTHER_GID, 0666);
	assert_owned(guarded, MO_TEST_OTHER_UID, MO_TEST_OTHER_GID, 0666);
}

/* A token file's lock is made for the file's owner and group, 0660 when the group may rewrite
 * the file, else 0600, whatever the umask and whoever owns the directory; and a lock that a
 * member of that group made is used. */
static void
test_file_lock_for_owner_and_group(void **state)
{
	g_autofree gchar *dir = case_dir("for-owner-and-group");
	g_autofree gchar *own = g_build_filename(dir, "own", NULL);
	g_autofree gchar *own_lock = g_build_filename(dir, ".own.lock", NULL);
	g_autofree gchar *shared = g_build_filename(dir, "shared", NULL);
	g_autofree gchar *shared_lock = g_build_filename(dir, ".shared.lock", NULL);
	g_autofree gchar *member = g_build_filename(dir, "member", NULL);
	g_autofree gchar *member_lock = g_build_filename(dir, ".member.lock", NULL);
	mode_t old_umask;

	skip_unless_root();
	write_owned(own, MO_TEST_OTHER_UID, MO_TEST_OTHER_GID, 0600);
	write_owned(shared, 0, MO_TEST_OTHER_GID, 0660);
	write_owned(member, 0, MO_TEST_OTHER_GID, 0660);
	write_owned(member_lock, MO_TEST_OTHER_UID, MO_TEST_OTHER_GID, 0660);
	old_umask = umask(0077);
	assert_lock_taken(own_lock);
	assert_lock_taken(shared_lock);
	umask(old_umask);
	assert_owned(own_lock, MO_TEST_OTHER_UID, MO_TEST_OTHER_GID, 0600);
	assert_owned(shared_lock, 0, MO_TEST_OTHER_GID, 0660);
	assert_lock_taken(member_lock);
	assert_owned(member_lock, MO_TEST_OTHER_UID, MO_TEST_OTHER_GID, 0660);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_path_under_runtime_dir),
		cmocka_unit_test(test_path_per_account),
		cmocka_unit_test(test_path_hostile_names),
		cmocka_unit_test(test_acquire_release),
		cmocka_unit_test(test_acquire_refuses_symlink),
		cmocka_unit_test(test_acquire_unusable_dir),
		cmocka_unit_test(test_other_process_waits),
		cmocka_unit_test(test_acquire_refuses_hard_link),
		cmocka_unit_test(test_acquire_refuses_fifo),
		cmocka_unit_test(test_acquire_leaves_existing_owner),
		cmocka_unit_test(test_acquire_refuses_foreign_owner),
		cmocka_unit_test(test_file_lock_for_owner_and_group),
	};
	gint rc;

	mo_test_init();
	test_dir = mo_test_make_tmpdir();
	/* before anything calls g_get_user_runtime_dir(), which caches its answer */
	g_setenv("XDG_RUNTIME_DIR", test_dir, TRUE);
	cmocka_set_message_output(CM_OUTPUT_TAP);
	rc = cmocka_run_group_tests_name("unit/lock", tests, NULL, NULL);
	mo_test_rm_rf(test_dir);
	g_free(test_dir);
	return rc;
}
