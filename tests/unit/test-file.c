/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "mo-error.h"
#include "mo-file.h"
#include "mo-test.h"

/* The user and group "nobody"/"nogroup" on Debian: an owner that is not the test's. */
#define TEST_OTHER_UID 65534
#define TEST_OTHER_GID 65534
/* How long a read of a FIFO may take before the test calls it blocked. */
#define TEST_BLOCKED_MS 2000
/* The child that reads a FIFO gives up by itself after this many seconds. */
#define TEST_CHILD_ALARM 20

static gchar *test_dir;

/* A fresh directory for one test, so that listing it shows only what that test left. */
static gchar *
case_dir(const gchar *name)
{
	gchar *dir = g_build_filename(test_dir, name, NULL);

	mo_test_rm_rf(dir);
	if (g_mkdir(dir, 0700) != 0)
		fail_msg("cannot create %s: %s", dir, g_strerror(errno));
	return dir;
}

static void
write_bytes(const gchar *path, const gchar *data, gssize len, mode_t mode)
{
	g_autoptr(GError) error = NULL;

	if (!g_file_set_contents(path, data, len, &error))
		fail_msg("cannot write %s: %s", path, error->message);
	if (g_chmod(path, mode) != 0)
		fail_msg("cannot chmod %s: %s", path, g_strerror(errno));
}

static gchar *
read_all(const gchar *path, gsize *len)
{
	g_autoptr(GError) error = NULL;
	gchar *data = NULL;

	if (!g_file_get_contents(path, &data, len, &error))
		fail_msg("cannot read %s: %s", path, error->message);
	return data;
}

static void
assert_file_is(const gchar *path, const gchar *expected, gsize expected_len)
{
	gsize len = 0;
	g_autofree gchar *data = read_all(path, &len);

	if (len != expected_len || memcmp(data, expected, len) != 0)
		fail_msg("%s holds “%s” (%zu bytes), expected “%s” (%zu bytes)",
			 path,
			 data,
			 len,
			 expected,
			 expected_len);
}

static struct stat
stat_of(const gchar *path)
{
	struct stat st;

	if (lstat(path, &st) != 0)
		fail_msg("cannot stat %s: %s", path, g_strerror(errno));
	return st;
}

static void
assert_read_refused(const gchar *path, const gchar *why)
{
	g_autoptr(GError) error = NULL;
	struct stat st;
	gsize len = 12345;
	gchar *data = mo_file_read_secret(path, 4096, &len, &st, &error);

	if (data != NULL)
		fail_msg("%s was read (%zu bytes)", path, len);
	mo_assert_error(error, MO_ERROR, MO_ERROR_INVALID_DATA);
	mo_assert_str_contains(error->message, path);
	if (why != NULL)
		mo_assert_str_contains(error->message, why);
}

static void
test_read_regular(void **state)
{
	g_autofree gchar *dir = case_dir("read-regular");
	g_autofree gchar *path = g_build_filename(dir, "token", NULL);
	g_autoptr(GError) error = NULL;
	g_autofree gchar *data = NULL;
	struct stat st = {0};
	gsize len = 0;

	write_bytes(path, "{\"refresh_token\":\"r\"}\n", -1, 0640);
	data = mo_file_read_secret(path, 4096, &len, &st, &error);
	mo_assert_no_error(error);
	assert_non_null(data);
	assert_string_equal(data, "{\"refresh_token\":\"r\"}\n");
	assert_int_equal(len, strlen(data));
	/* the caller keeps mode and owner from this when it rewrites the file */
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0640);
	assert_int_equal(st.st_uid, geteuid());
	assert_int_equal(st.st_size, len);
}

static void
test_read_binary_and_empty(void **state)
{
	g_autofree gchar *dir = case_dir("read-binary");
	g_autofree gchar *path = g_build_filename(dir, "bin", NULL);
	g_autofree gchar *empty = g_build_filename(dir, "empty", NULL);
	g_autoptr(GError) error = NULL;
	g_autofree gchar *data = NULL;
	g_autofree gchar *nothing = NULL;
	struct stat st;
	gsize len = 0;

	write_bytes(path, "a\0b\001", 4, 0600);
	data = mo_file_read_secret(path, 4096, &len, &st, &error);
	mo_assert_no_error(error);
	assert_int_equal(len, 4);
	assert_memory_equal(data, "a\0b\001", 5);

	write_bytes(empty, "", 0, 0600);
	nothing = mo_file_read_secret(empty, 4096, &len, &st, &error);
	mo_assert_no_error(error);
	assert_non_null(nothing);
	assert_int_equal(len, 0);
	assert_string_equal(nothing, "");
}

static void
test_read_size_limit(void **state)
{
	g_autofree gchar *dir = case_dir("read-size");
	g_autofree gchar *at_max = g_build_filename(dir, "at-max", NULL);
	g_autofree gchar *over = g_build_filename(dir, "over", NULL);
	g_autofree gchar *filler = g_strnfill(100, 'x');
	g_autoptr(GError) error = NULL;
	g_autofree gchar *data = NULL;
	struct stat st;
	gsize len = 0;

	write_bytes(at_max, filler, 100, 0600);
	write_bytes(over, filler, 100, 0600);
	data = mo_file_read_secret(at_max, 100, &len, &st, &error);
	mo_assert_no_error(error);
	assert_int_equal(len, 100);

	assert_null(mo_file_read_secret(over, 99, &len, &st, &error));
	mo_assert_error(error, MO_ERROR, MO_ERROR_INVALID_DATA);
	mo_assert_str_contains(error->message, over);
	mo_assert_str_contains(error->message, "99");
}

/* Not even a link to a good file: someone who can write the directory could point it at a
 * file they cannot read themselves. */
static void
test_read_refuses_symlink(void **state)
{
	g_autofree gchar *dir = case_dir("read-symlink");
	g_autofree gchar *target = g_build_filename(dir, "target", NULL);
	g_autofree gchar *link = g_build_filename(dir, "link", NULL);
	g_autofree gchar *dangling = g_build_filename(dir, "dangling", NULL);

	write_bytes(target, "{\"refresh_token\":\"r\"}", -1, 0600);
	assert_int_equal(symlink(target, link), 0);
	assert_int_equal(symlink("/nonexistent/token", dangling), 0);
	assert_read_refused(link, "symbolic link");
	assert_read_refused(dangling, "symbolic link");
}

static void
test_read_refuses_directory(void **state)
{
	g_autofree gchar *dir = case_dir("read-directory");

	assert_read_refused(dir, NULL);
}

static void
test_read_refuses_device(void **state)
{
	assert_read_refused("/dev/null", NULL);
}

/* With a writer present, opening the FIFO returns at once; the test only looks at the type
 * check here (test_read_fifo_does_not_block is the case without a writer). */
static void
test_read_refuses_fifo(void **state)
{
	g_autofree gchar *dir = case_dir("read-fifo");
	g_autofree gchar *fifo = g_build_filename(dir, "fifo", NULL);
	gint writer;

	assert_int_equal(mkfifo(fifo, 0600), 0);
	/* O_RDWR on a FIFO never blocks on Linux, and counts as a writer */
	writer = open(fifo, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	assert_true(writer >= 0);
	assert_true(write(writer, "{}", 2) == 2);
	assert_read_refused(fifo, NULL);
	close(writer);
}

static void
test_read_missing(void **state)
{
	g_autofree gchar *dir = case_dir("read-missing");
	g_autofree gchar *path = g_build_filename(dir, "nothing", NULL);

	assert_read_refused(path, g_strerror(ENOENT));
}

static void
test_replace_creates(void **state)
{
	g_autofree gchar *dir = case_dir("replace-creates");
	g_autofree gchar *path = g_build_filename(dir, "token", NULL);
	g_autoptr(GError) error = NULL;
	g_autofree gchar *names = NULL;
	struct stat st;

	assert_true(mo_file_replace(path, "new", 3, 0600, geteuid(), getegid(), &error));
	mo_assert_no_error(error);
	assert_file_is(path, "new", 3);
	st = stat_of(path);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0600);
	names = mo_test_list_dir(dir);
	assert_string_equal(names, "token");
}

static void
test_replace_binary(void **state)
{
	g_autofree gchar *dir = case_dir("replace-binary");
	g_autofree gchar *path = g_build_filename(dir, "token", NULL);
	g_autoptr(GError) error = NULL;

	write_bytes(path, "a much longer old content than the new one", -1, 0600);
	assert_true(mo_file_replace(path, "a\0b", 3, 0600, geteuid(), getegid(), &error));
	mo_assert_no_error(error);
	/* the length counts, not a NUL; and nothing of the longer old file is left */
	assert_file_is(path, "a\0b", 3);
}

static void
assert_replaced_with_mode(const gchar *dir, mode_t old_mode, mode_t mode, mode_t expected)
{
	g_autofree gchar *path = g_build_filename(dir, "token", NULL);
	g_autoptr(GError) error = NULL;
	g_autofree gchar *names = NULL;
	struct stat st;

	write_bytes(path, "old", -1, old_mode);
	assert_true(mo_file_replace(path, "new", 3, mode, geteuid(), getegid(), &error));
	mo_assert_no_error(error);
	assert_file_is(path, "new", 3);
	st = stat_of(path);
	if ((st.st_mode & 07777) != expected)
		fail_msg("mode %04o given, file has %04o, expected %04o",
			 (guint)mode,
			 (guint)(st.st_mode & 07777),
			 (guint)expected);
	names = mo_test_list_dir(dir);
	assert_string_equal(names, "token");
}

/* The mode is the one given, whatever the old file had and whatever the umask says. */
static void
test_replace_mode_as_given(void **state)
{
	g_autofree gchar *dir = case_dir("replace-mode");
	mode_t old_umask = umask(0277);

	assert_replaced_with_mode(dir, 0644, 0600, 0600);
	assert_replaced_with_mode(dir, 0600, 0640, 0640);
	/* what stat() says, file type bits included, as the file store passes it */
	assert_replaced_with_mode(dir, 0600, S_IFREG | 0640, 0640);
	umask(old_umask);
}

static void
test_replace_owner_as_given(void **state)
{
	g_autofree gchar *dir = case_dir("replace-owner");
	g_autofree gchar *path = g_build_filename(dir, "token", NULL);
	g_autoptr(GError) error = NULL;
	struct stat st;

	if (geteuid() != 0)
		skip();
	write_bytes(path, "old", -1, 0600);
	assert_true(mo_file_replace(path, "new", 3, 0640, TEST_OTHER_UID, TEST_OTHER_GID, &error));
	mo_assert_no_error(error);
	st = stat_of(path);
	assert_int_equal(st.st_uid, TEST_OTHER_UID);
	assert_int_equal(st.st_gid, TEST_OTHER_GID);
	assert_int_equal(st.st_mode & 07777, 0640);
	assert_file_is(path, "new", 3);

	/* and back to root's own */
	assert_true(mo_file_replace(path, "again", 5, 0600, 0, 0, &error));
	mo_assert_no_error(error);
	st = stat_of(path);
	assert_int_equal(st.st_uid, 0);
	assert_int_equal(st.st_gid, 0);
}

/* A link planted where the file was is replaced, never written through. */
static void
test_replace_symlink_not_followed(void **state)
{
	g_autofree gchar *dir = case_dir("replace-symlink");
	g_autofree gchar *path = g_build_filename(dir, "token", NULL);
	g_autofree gchar *target = g_build_filename(dir, "victim", NULL);
	g_autoptr(GError) error = NULL;
	g_autofree gchar *names = NULL;

	write_bytes(target, "victim", -1, 0644);
	assert_int_equal(symlink(target, path), 0);
	assert_true(mo_file_replace(path, "new", 3, 0600, geteuid(), getegid(), &error));
	mo_assert_no_error(error);
	assert_true(S_ISREG(stat_of(path).st_mode));
	assert_file_is(path, "new", 3);
	assert_file_is(target, "victim", 6);
	names = mo_test_list_dir(dir);
	assert_string_equal(names, "token victim");
}

static void
test_replace_fails_missing_dir(void **state)
{
	g_autofree gchar *dir = case_dir("replace-missing-dir");
	g_autofree gchar *missing = g_build_filename(dir, "nonexistent", NULL);
	g_autofree gchar *path = g_build_filename(missing, "token", NULL);
	g_autoptr(GError) error = NULL;
	g_autofree gchar *names = NULL;

	assert_false(mo_file_replace(path, "new", 3, 0600, geteuid(), getegid(), &error));
	mo_assert_error(error, MO_ERROR, MO_ERROR_FAILED);
	mo_assert_str_contains(error->message, path);
	mo_assert_str_contains(error->message, g_strerror(ENOENT));
	assert_false(g_file_test(missing, G_FILE_TEST_EXISTS));
	names = mo_test_list_dir(dir);
	assert_string_equal(names, "");
}

/* A write that fails half-way (here: RLIMIT_FSIZE, which stops root too) leaves the old file
 * whole and no temporary file behind. */
static void
test_replace_fails_writing(void **state)
{
	g_autofree gchar *dir = case_dir("replace-fails-writing");
	g_autofree gchar *path = g_build_filename(dir, "token", NULL);
	g_autofree gchar *big = g_strnfill(4096, 'n');
	const gchar *old = "{\"refresh_token\":\"old-r\"}";
	g_autoptr(GError) error = NULL;
	g_autofree gchar *names = NULL;
	struct rlimit saved;
	struct rlimit limit;
	void (*saved_handler)(int);
	gboolean ok;

	write_bytes(path, old, -1, 0640);
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &saved), 0);
	limit.rlim_cur = 16;
	limit.rlim_max = saved.rlim_max;
	saved_handler = signal(SIGXFSZ, SIG_IGN);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &limit), 0);
	ok = mo_file_replace(path, big, 4096, 0600, geteuid(), getegid(), &error);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &saved), 0);
	signal(SIGXFSZ, saved_handler);

	assert_false(ok);
	mo_assert_error(error, MO_ERROR, MO_ERROR_FAILED);
	mo_assert_str_contains(error->message, path);
	mo_assert_str_contains(error->message, g_strerror(EFBIG));
	assert_file_is(path, old, strlen(old));
	assert_int_equal(stat_of(path).st_mode & 07777, 0640);
	names = mo_test_list_dir(dir);
	assert_string_equal(names, "token");
}

/* The rename itself fails: the path is a directory. */
static void
test_replace_fails_renaming(void **state)
{
	g_autofree gchar *dir = case_dir("replace-fails-renaming");
	g_autofree gchar *path = g_build_filename(dir, "token", NULL);
	g_autofree gchar *inside = g_build_filename(path, "keep", NULL);
	g_autoptr(GError) error = NULL;
	g_autofree gchar *names = NULL;

	assert_int_equal(g_mkdir(path, 0700), 0);
	write_bytes(inside, "kept", -1, 0600);
	assert_false(mo_file_replace(path, "new", 3, 0600, geteuid(), getegid(), &error));
	mo_assert_error(error, MO_ERROR, MO_ERROR_FAILED);
	mo_assert_str_contains(error->message, path);
	assert_true(g_file_test(path, G_FILE_TEST_IS_DIR));
	assert_file_is(inside, "kept", 4);
	names = mo_test_list_dir(dir);
	assert_string_equal(names, "token");
}

static void
test_replace_then_read(void **state)
{
	g_autofree gchar *dir = case_dir("replace-then-read");
	g_autofree gchar *path = g_build_filename(dir, "token", NULL);
	const gchar *doc = "{\n  \"refresh_token\" : \"r\"\n}";
	g_autoptr(GError) error = NULL;
	g_autofree gchar *data = NULL;
	struct stat st;
	gsize len = 0;

	assert_true(mo_file_replace(path, doc, strlen(doc), 0600, geteuid(), getegid(), &error));
	mo_assert_no_error(error);
	data = mo_file_read_secret(path, 4096, &len, &st, &error);
	mo_assert_no_error(error);
	assert_string_equal(data, doc);
	assert_int_equal(st.st_mode & 07777, 0600);
}

/* --- regressions: defects found by these tests, fixed since --- */

/* A FIFO put in place of a token file (by whoever can write its directory) must be refused,
 * not hang postfix's smtp process: open(O_RDONLY) on a FIFO waits for a writer. Read in a
 * child, which the parent kills when it takes too long. */
static void
test_read_fifo_does_not_block(void **state)
{
	g_autofree gchar *dir = case_dir("read-fifo-blocks");
	g_autofree gchar *fifo = g_build_filename(dir, "fifo", NULL);
	gint status = 0;
	pid_t pid;

	assert_int_equal(mkfifo(fifo, 0600), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct stat st;
		gsize len = 0;
		gchar *data;

		alarm(TEST_CHILD_ALARM);
		data = mo_file_read_secret(fifo, 4096, &len, &st, NULL);
		/* _exit() skips the cleanup of the parent's locals: free them, for valgrind */
		g_clear_pointer(&fifo, g_free);
		g_clear_pointer(&dir, g_free);
		if (data == NULL)
			_exit(0);
		g_free(data);
		_exit(1);
	}
	for (guint waited = 0; waited < TEST_BLOCKED_MS; waited += 10) {
		if (waitpid(pid, &status, WNOHANG) == pid)
			break;
		g_usleep(10 * 1000);
	}
	if (waitpid(pid, &status, WNOHANG) == 0) {
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
		fail_msg("mo_file_read_secret(%s) was still blocked after %u ms",
			 fifo,
			 (guint)TEST_BLOCKED_MS);
	}
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

/* Issue 9, item 10: a setuid, setgid or sticky bit on a token file (set by mistake, or by
 * someone who could) is not carried on to the rewritten file, whatever mode the caller passes
 * (the file store passes the old file's st_mode). */
static void
test_replace_drops_special_bits(void **state)
{
	g_autofree gchar *dir = case_dir("replace-special-bits");

	assert_replaced_with_mode(dir, 06640, S_IFREG | 06640, 0640);
	assert_replaced_with_mode(dir, 01600, S_IFREG | 01600, 0600);
	assert_replaced_with_mode(dir, 0600, 04755, 0755);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_read_regular),
		cmocka_unit_test(test_read_binary_and_empty),
		cmocka_unit_test(test_read_size_limit),
		cmocka_unit_test(test_read_refuses_symlink),
		cmocka_unit_test(test_read_refuses_directory),
		cmocka_unit_test(test_read_refuses_device),
		cmocka_unit_test(test_read_refuses_fifo),
		cmocka_unit_test(test_read_missing),
		cmocka_unit_test(test_replace_creates),
		cmocka_unit_test(test_replace_binary),
		cmocka_unit_test(test_replace_mode_as_given),
		cmocka_unit_test(test_replace_owner_as_given),
		cmocka_unit_test(test_replace_symlink_not_followed),
		cmocka_unit_test(test_replace_fails_missing_dir),
		cmocka_unit_test(test_replace_fails_writing),
		cmocka_unit_test(test_replace_fails_renaming),
		cmocka_unit_test(test_replace_then_read),
		cmocka_unit_test(test_read_fifo_does_not_block),
		cmocka_unit_test(test_replace_drops_special_bits),
	};
	gint rc;

	mo_test_init();
	test_dir = mo_test_make_tmpdir();
	cmocka_set_message_output(CM_OUTPUT_TAP);
	rc = cmocka_run_group_tests_name("unit/file", tests, NULL, NULL);
	mo_test_rm_rf(test_dir);
	g_free(test_dir);
	return rc;
}
