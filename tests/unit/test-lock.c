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

/* The child: once told to go, take the lock (blocking), say so, exit. No cmocka here. */
G_GNUC_NORETURN static void
child_take_lock(const gchar *path, gint go_fd, gint done_fd)
{
	const gchar msg = MO_TEST_CHILD_LOCKED;
	gchar go = 0;
	MoLock *lock;

	alarm(MO_TEST_CHILD_ALARM);
	if (read(go_fd, &go, 1) != 1)
		_exit(2);
	lock = mo_lock_acquire(path, NULL);
	if (lock == NULL)
		_exit(3);
	if (write(done_fd, &msg, 1) != 1)
		_exit(4);
	mo_lock_release(lock);
	_exit(0);
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
		close(go_fds[1]);
		close(done_fds[0]);
		child_take_lock(path, go_fds[0], done_fds[1]);
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
