/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <glib/gstdio.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>
#include <utime.h>

#include "mo-error.h"
#include "mo-export-layout.h"
#include "mo-test.h"

/* "nobody" on Debian: an owner that is not root. */
#define TEST_OTHER_UID 65534
#define TEST_OTHER_GID 65534
#define TEST_QUEUE     "/var/spool/postfix-test"
/* Postfix's own postconf, for the one test that asks a real postfix configuration. */
#define TEST_REAL_POSTCONF "/usr/sbin/postconf"

static gchar *test_dir;

static gchar *
case_dir(const gchar *name)
{
	gchar *dir = g_build_filename(test_dir, name, NULL);

	mo_test_rm_rf(dir);
	if (g_mkdir(dir, 0700) != 0)
		fail_msg("cannot create %s: %s", dir, g_strerror(errno));
	return dir;
}

/* A stand-in for postconf in @dir: it logs its arguments to @dir/calls and answers the two
 * queries the layout makes with @queue and @owner, and @chroot. */
static gchar *
fake_postconf(const gchar *dir, const gchar *queue, const gchar *owner, const gchar *chroot)
{
	gchar *path = g_build_filename(dir, "postconf", NULL);
	g_autofree gchar *script = g_strdup_printf("#!/bin/sh\n"
						   "printf '%%s\\n' \"$*\" >>'%s/calls'\n"
						   "case \"$3\" in\n"
						   "-h) printf '%%s\\n%%s\\n' '%s' '%s' ;;\n"
						   "-Fh) printf '%%s\\n' '%s' ;;\n"
						   "esac\n",
						   dir,
						   queue,
						   owner,
						   chroot);

	mo_test_write_file(path, script);
	assert_int_equal(g_chmod(path, 0755), 0);
	return path;
}

static gchar *
write_conf(const gchar *dir, const gchar *contents)
{
	gchar *path = g_build_filename(dir, "export.conf", NULL);

	mo_test_write_file(path, contents);
	assert_int_equal(g_chmod(path, 0644), 0);
	return path;
}

static MoExportLayout *
load_ok(const gchar *conf, const gchar *postconf)
{
	g_autoptr(GError) error = NULL;
	MoExportLayout *layout = mo_export_layout_load_full(conf, postconf, &error);

	mo_assert_no_error(error);
	assert_non_null(layout);
	return layout;
}

static void
load_fails(const gchar *conf, const gchar *postconf, gint code, const gchar *message)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(MoExportLayout) layout = mo_export_layout_load_full(conf, postconf, &error);

	assert_null(layout);
	mo_assert_error(error, MO_ERROR, code);
	mo_assert_str_contains(error->message, message);
}

/* Config files must be root's: tests that write one run as root only (as in CI). */
static gboolean
need_root(void)
{
	return geteuid() == 0;
}

static void
test_default_conf(void **state)
{
	assert_string_equal(mo_export_layout_default_conf(), "/etc/mailoauth/export.conf");
}

static void
test_name_valid(void **state)
{
	g_autofree gchar *longest = g_strnfill(MO_EXPORT_NAME_MAX, 'a');
	const gchar *valid[] = {"me@example.com", "a", "A.b_c+d-e=f", "x.", "a-", longest};

	for (guint i = 0; i < G_N_ELEMENTS(valid); i++) {
		g_autoptr(GError) error = NULL;
		if (!mo_export_name_is_valid(valid[i], &error))
			fail_msg("“%s” refused: %s", valid[i], error->message);
	}
}

static void
test_name_invalid(void **state)
{
	g_autofree gchar *too_long = g_strnfill(MO_EXPORT_NAME_MAX + 1, 'a');
	const gchar *invalid[] = {"",
				  ".x",
				  "-x",
				  "a..b",
				  "..",
				  "../x",
				  "a/b",
				  "/x",
				  "ü@example.com",
				  "a b",
				  "a\nb",
				  "a:b",
				  "a*",
				  "a\\b",
				  "\xff",
				  too_long};
	g_autoptr(GError) error = NULL;

	for (guint i = 0; i < G_N_ELEMENTS(invalid); i++) {
		g_autoptr(GError) error_local = NULL;
		if (mo_export_name_is_valid(invalid[i], &error_local))
			fail_msg("“%s” accepted", invalid[i]);
		mo_assert_error(error_local, MO_ERROR, MO_ERROR_INVALID_ARGUMENT);
		assert_true(g_utf8_validate(error_local->message, -1, NULL));
		mo_assert_str_lacks(error_local->message, "\n");
	}
	assert_false(mo_export_name_is_valid(NULL, &error));
	mo_assert_error(error, MO_ERROR, MO_ERROR_INVALID_ARGUMENT);
}

static void
test_defaults_without_conf(void **state)
{
	g_autofree gchar *dir = case_dir("defaults");
	g_autofree gchar *conf = g_build_filename(dir, "missing.conf", NULL);
	g_autofree gchar *postconf = fake_postconf(dir, TEST_QUEUE, "root", "y");
	g_autofree gchar *calls_path = g_build_filename(dir, "calls", NULL);
	g_autofree gchar *calls = NULL;
	g_autoptr(MoExportLayout) layout = load_ok(conf, postconf);

	assert_string_equal(layout->directory, "/etc/sasl-tokens");
	assert_string_equal(layout->postfix_config, "/etc/postfix");
	assert_string_equal(layout->queue_directory, TEST_QUEUE);
	assert_true(layout->chrooted);
	assert_string_equal(layout->real_directory, TEST_QUEUE "/etc/sasl-tokens");
	assert_string_equal(layout->status_directory, TEST_QUEUE "/etc/sasl-tokens.status");
	assert_string_equal(layout->mail_owner, "root");
	assert_int_equal(layout->uid, 0);
	assert_int_equal(layout->gid, 0);
	assert_true(g_file_get_contents(calls_path, &calls, NULL, NULL));
	assert_string_equal(calls,
			    "-c /etc/postfix -h queue_directory mail_owner\n"
			    "-c /etc/postfix -Fh smtp/unix/chroot\n");
}

static void
test_conf_values(void **state)
{
	g_autofree gchar *dir = NULL;
	g_autofree gchar *conf = NULL;
	g_autofree gchar *postconf = NULL;
	g_autofree gchar *calls_path = NULL;
	g_autofree gchar *calls = NULL;
	g_autoptr(MoExportLayout) layout = NULL;

	if (!need_root())
		skip();
	dir = case_dir("values");
	conf = write_conf(dir,
			  "# comment\n[export]\ndirectory = /srv/mail/tokens\n"
			  "postfix-config=/etc/postfix-out\n");
	postconf = fake_postconf(dir, TEST_QUEUE, "nobody", "n");
	calls_path = g_build_filename(dir, "calls", NULL);
	layout = load_ok(conf, postconf);
	assert_string_equal(layout->directory, "/srv/mail/tokens");
	assert_string_equal(layout->postfix_config, "/etc/postfix-out");
	assert_false(layout->chrooted);
	assert_string_equal(layout->real_directory, "/srv/mail/tokens");
	assert_string_equal(layout->status_directory, "/srv/mail/tokens.status");
	assert_int_equal(layout->uid, TEST_OTHER_UID);
	assert_true(g_file_get_contents(calls_path, &calls, NULL, NULL));
	mo_assert_str_contains(calls, "-c /etc/postfix-out -h queue_directory mail_owner\n");
}

static void
test_empty_conf(void **state)
{
	g_autofree gchar *dir = NULL;
	g_autofree gchar *conf = NULL;
	g_autofree gchar *postconf = NULL;
	g_autoptr(MoExportLayout) layout = NULL;

	if (!need_root())
		skip();
	dir = case_dir("empty");
	conf = write_conf(dir, "# nothing set\n");
	postconf = fake_postconf(dir, TEST_QUEUE, "root", "-");
	layout = load_ok(conf, postconf);
	assert_string_equal(layout->directory, "/etc/sasl-tokens");
	assert_string_equal(layout->postfix_config, "/etc/postfix");
	assert_false(layout->chrooted);
	assert_string_equal(layout->real_directory, "/etc/sasl-tokens");
}

static void
test_chroot_answers(void **state)
{
	g_autofree gchar *dir = case_dir("chroot");
	g_autofree gchar *conf = g_build_filename(dir, "missing.conf", NULL);
	const struct {
		const gchar *answer;
		gboolean chrooted;
	} good[] = {{"y", TRUE}, {"yes", TRUE}, {"n", FALSE}, {"no", FALSE}, {"-", FALSE}};

	for (guint i = 0; i < G_N_ELEMENTS(good); i++) {
		g_autofree gchar *postconf = fake_postconf(dir, TEST_QUEUE, "root", good[i].answer);
		g_autoptr(MoExportLayout) layout = load_ok(conf, postconf);
		assert_int_equal(layout->chrooted, good[i].chrooted);
	}
	for (guint i = 0; i < 2; i++) {
		const gchar *bad = i == 0 ? "maybe" : "";
		g_autofree gchar *postconf = fake_postconf(dir, TEST_QUEUE, "root", bad);
		load_fails(conf, postconf, MO_ERROR_INVALID_DATA, "smtp/unix");
	}
}

static void
test_conf_loose_mode_refused(void **state)
{
	g_autofree gchar *dir = NULL;
	g_autofree gchar *conf = NULL;
	g_autofree gchar *postconf = NULL;

	if (!need_root())
		skip();
	dir = case_dir("loose");
	conf = write_conf(dir, "[export]\ndirectory=/srv/tokens\n");
	postconf = fake_postconf(dir, TEST_QUEUE, "root", "n");
	assert_int_equal(g_chmod(conf, 0664), 0);
	load_fails(conf, postconf, MO_ERROR_INVALID_DATA, conf);
	assert_int_equal(g_chmod(conf, 0646), 0);
	load_fails(conf, postconf, MO_ERROR_INVALID_DATA, "0646");
	/* read-only for all is fine */
	assert_int_equal(g_chmod(conf, 0444), 0);
	mo_export_layout_free(load_ok(conf, postconf));
}

static void
test_conf_not_root_refused(void **state)
{
	g_autofree gchar *dir = NULL;
	g_autofree gchar *conf = NULL;
	g_autofree gchar *postconf = NULL;

	if (!need_root())
		skip();
	dir = case_dir("not-root");
	conf = write_conf(dir, "[export]\ndirectory=/srv/tokens\n");
	postconf = fake_postconf(dir, TEST_QUEUE, "root", "n");
	assert_int_equal(chown(conf, TEST_OTHER_UID, TEST_OTHER_GID), 0);
	load_fails(conf, postconf, MO_ERROR_INVALID_DATA, conf);
}

static void
test_conf_symlink_refused(void **state)
{
	g_autofree gchar *dir = case_dir("symlink");
	g_autofree gchar *target = g_build_filename(dir, "real.conf", NULL);
	g_autofree gchar *conf = g_build_filename(dir, "export.conf", NULL);
	g_autofree gchar *postconf = fake_postconf(dir, TEST_QUEUE, "root", "n");

	mo_test_write_file(target, "[export]\n");
	assert_int_equal(symlink(target, conf), 0);
	load_fails(conf, postconf, MO_ERROR_INVALID_DATA, "symbolic link");
}

static void
test_conf_invalid(void **state)
{
	g_autofree gchar *dir = NULL;
	g_autofree gchar *postconf = NULL;
	const struct {
		const gchar *contents;
		const gchar *message;
	} cases[] = {
		{"[export]\ndirectory=/srv/tokens\ncolour=blue\n", "colour"},
		{"[export]\ndirectory[de]=/srv/tokens\n", "directory[de]"},
		{"[Export]\ndirectory=/srv/tokens\n", "[Export]"},
		{"[export]\n[other]\n", "[other]"},
		{"directory=/srv/tokens\n", "export.conf"},
		{"[export]\ndirectory=srv/tokens\n", "directory=srv/tokens"},
		{"[export]\ndirectory=/srv/../etc\n", "absolute path"},
		{"[export]\ndirectory=/srv/./tokens\n", "absolute path"},
		{"[export]\ndirectory=/srv//tokens\n", "absolute path"},
		{"[export]\ndirectory=/srv/tokens/\n", "absolute path"},
		{"[export]\ndirectory=/\n", "absolute path"},
		{"[export]\ndirectory=/srv/my tokens\n", "absolute path"},
		{"[export]\ndirectory=/srv/\\ttokens\n", "absolute path"},
		{"[export]\npostfix-config=postfix\n", "postfix-config"},
	};

	if (!need_root())
		skip();
	dir = case_dir("invalid");
	postconf = fake_postconf(dir, TEST_QUEUE, "root", "n");
	for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autofree gchar *conf = write_conf(dir, cases[i].contents);
		load_fails(conf, postconf, MO_ERROR_INVALID_DATA, cases[i].message);
	}
}

static void
test_postconf_fails(void **state)
{
	g_autofree gchar *dir = case_dir("postconf-fails");
	g_autofree gchar *conf = g_build_filename(dir, "missing.conf", NULL);
	g_autofree gchar *postconf = g_build_filename(dir, "postconf", NULL);
	g_autofree gchar *missing = g_build_filename(dir, "no-such-postconf", NULL);

	mo_test_write_file(postconf,
			   "#!/bin/sh\n"
			   "echo 'postconf: fatal: open /etc/postfix/main.cf: No such file' >&2\n"
			   "echo 'second line' >&2\n"
			   "exit 1\n");
	assert_int_equal(g_chmod(postconf, 0755), 0);
	load_fails(conf, postconf, MO_ERROR_FAILED, "fatal: open /etc/postfix/main.cf");
	load_fails(conf, missing, MO_ERROR_FAILED, missing);
	load_fails(conf, "postconf", MO_ERROR_INVALID_ARGUMENT, "absolute");
}

static void
test_postconf_garbage(void **state)
{
	g_autofree gchar *dir = case_dir("postconf-garbage");
	g_autofree gchar *conf = g_build_filename(dir, "missing.conf", NULL);
	g_autofree gchar *relative = fake_postconf(dir, "spool", "root", "n");
	g_autofree gchar *unclean = fake_postconf(dir, "/var/spool/../tmp", "root", "n");
	g_autofree gchar *no_owner = fake_postconf(dir, TEST_QUEUE, "", "n");

	load_fails(conf, relative, MO_ERROR_INVALID_DATA, "queue_directory");
	load_fails(conf, unclean, MO_ERROR_INVALID_DATA, "queue_directory");
	load_fails(conf, no_owner, MO_ERROR_INVALID_DATA, "mail_owner");
}

static void
test_no_mail_owner(void **state)
{
	g_autofree gchar *dir = case_dir("no-owner");
	g_autofree gchar *conf = g_build_filename(dir, "missing.conf", NULL);
	g_autofree gchar *postconf = fake_postconf(dir, TEST_QUEUE, "mailoauth-no-such-user", "y");

	load_fails(conf, postconf, MO_ERROR_INVALID_DATA, "mailoauth-no-such-user");
}

static void
test_paths(void **state)
{
	g_autofree gchar *dir = case_dir("paths");
	g_autofree gchar *conf = g_build_filename(dir, "missing.conf", NULL);
	g_autofree gchar *chrooted = fake_postconf(dir, TEST_QUEUE, "root", "y");
	g_autoptr(MoExportLayout) layout = load_ok(conf, chrooted);
	g_autofree gchar *file = mo_export_layout_file(layout, "me@example.com");
	g_autofree gchar *path = mo_export_layout_postfix_path(layout, "me@example.com");

	assert_string_equal(file, TEST_QUEUE "/etc/sasl-tokens/me@example.com");
	assert_string_equal(path, "/etc/sasl-tokens/me@example.com");
}

/* The real postconf, on a throw-away configuration: the answers are parsed as postfix gives
 * them. */
static void
test_real_postconf(void **state)
{
	g_autofree gchar *dir = NULL;
	g_autofree gchar *pf = NULL;
	g_autofree gchar *main_cf = NULL;
	g_autofree gchar *master_cf = NULL;
	g_autofree gchar *conf = NULL;
	g_autofree gchar *text = NULL;
	g_autoptr(MoExportLayout) layout = NULL;
	struct utimbuf settled = {.actime = mo_test_now() - 60, .modtime = mo_test_now() - 60};

	if (!need_root() || !g_file_test(TEST_REAL_POSTCONF, G_FILE_TEST_IS_EXECUTABLE) ||
	    getpwnam("postfix") == NULL)
		skip();
	dir = case_dir("real-postconf");
	pf = g_build_filename(dir, "postfix", NULL);
	main_cf = g_build_filename(pf, "main.cf", NULL);
	master_cf = g_build_filename(pf, "master.cf", NULL);
	assert_int_equal(g_mkdir(pf, 0755), 0);
	mo_test_write_file(main_cf,
			   "queue_directory = " TEST_QUEUE "\ncompatibility_level = 3.6\n");
	mo_test_write_file(master_cf,
			   "smtp      unix  -       -       y       -       -       smtp\n");
	/* postfix waits for a main.cf written this very second to settle */
	assert_int_equal(utime(main_cf, &settled), 0);
	text = g_strdup_printf("[export]\npostfix-config=%s\n", pf);
	conf = write_conf(dir, text);
	layout = load_ok(conf, NULL);
	assert_string_equal(layout->queue_directory, TEST_QUEUE);
	assert_string_equal(layout->mail_owner, "postfix");
	assert_true(layout->chrooted);
	assert_string_equal(layout->real_directory, TEST_QUEUE "/etc/sasl-tokens");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_default_conf),
		cmocka_unit_test(test_name_valid),
		cmocka_unit_test(test_name_invalid),
		cmocka_unit_test(test_defaults_without_conf),
		cmocka_unit_test(test_conf_values),
		cmocka_unit_test(test_empty_conf),
		cmocka_unit_test(test_chroot_answers),
		cmocka_unit_test(test_conf_loose_mode_refused),
		cmocka_unit_test(test_conf_not_root_refused),
		cmocka_unit_test(test_conf_symlink_refused),
		cmocka_unit_test(test_conf_invalid),
		cmocka_unit_test(test_postconf_fails),
		cmocka_unit_test(test_postconf_garbage),
		cmocka_unit_test(test_no_mail_owner),
		cmocka_unit_test(test_paths),
		cmocka_unit_test(test_real_postconf),
	};
	gint rc;

	mo_test_init();
	test_dir = mo_test_make_tmpdir();
	cmocka_set_message_output(CM_OUTPUT_TAP);
	rc = cmocka_run_group_tests_name("unit/export-layout", tests, NULL, NULL);
	mo_test_rm_rf(test_dir);
	g_free(test_dir);
	return rc;
}
