/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <glib/gstdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mo-error.h"
#include "mo-export-status.h"
#include "mo-json.h"
#include "mo-test.h"

/* "nobody"/"nogroup" on Debian: an owner that is not the test's. */
#define TEST_OTHER_UID 65534
#define TEST_OTHER_GID 65534
#define TEST_ACCOUNT   "me@example.com"

static gchar *test_dir;

/* A fresh directory for one test, holding "tokens/" and, when @with_status, "tokens.status/". */
static gchar *
case_dir(const gchar *name, gboolean with_status)
{
	gchar *dir = g_build_filename(test_dir, name, NULL);
	g_autofree gchar *tokens = g_build_filename(dir, "tokens", NULL);
	g_autofree gchar *status = g_build_filename(dir, "tokens.status", NULL);

	mo_test_rm_rf(dir);
	if (g_mkdir(dir, 0700) != 0 || g_mkdir(tokens, 0700) != 0)
		fail_msg("cannot create %s: %s", tokens, g_strerror(errno));
	if (with_status && g_mkdir(status, 0755) != 0)
		fail_msg("cannot create %s: %s", status, g_strerror(errno));
	return dir;
}

static MoExportStatus *
status_example(const gchar *path)
{
	MoExportStatus *status = mo_export_status_new();

	status->account = g_strdup(TEST_ACCOUNT);
	status->path = g_strdup(path);
	status->expiry = 1700003600;
	status->last_refresh = 1700000000;
	status->updated = 1700000005;
	return status;
}

static MoExportStatus *
read_ok(const gchar *path)
{
	g_autoptr(GError) error = NULL;
	MoExportStatus *status = mo_export_status_read(path, &error);

	mo_assert_no_error(error);
	assert_non_null(status);
	return status;
}

static void
write_ok(const gchar *token_path, const MoExportStatus *status)
{
	g_autoptr(GError) error = NULL;

	assert_true(mo_export_status_write(token_path, status, &error));
	mo_assert_no_error(error);
}

static void
test_path(void **state)
{
	g_autofree gchar *a = mo_export_status_path("/etc/sasl-tokens/me@example.com");
	g_autofree gchar *b = mo_export_status_path("/var/spool/postfix/etc/sasl-tokens/x");
	g_autofree gchar *c = mo_export_status_path("/x");

	assert_string_equal(a, "/etc/sasl-tokens.status/me@example.com");
	assert_string_equal(b, "/var/spool/postfix/etc/sasl-tokens.status/x");
	assert_string_equal(c, "/.status/x");
}

static void
test_write_without_status_dir(void **state)
{
	g_autofree gchar *dir = case_dir("no-status-dir", FALSE);
	g_autofree gchar *token = g_build_filename(dir, "tokens", TEST_ACCOUNT, NULL);
	g_autoptr(MoExportStatus) status = status_example(token);
	g_autofree gchar *listing = NULL;

	write_ok(token, status);
	listing = mo_test_list_dir(dir);
	assert_string_equal(listing, "tokens");
}

static void
test_write_read_round_trip(void **state)
{
	g_autofree gchar *dir = case_dir("round-trip", TRUE);
	g_autofree gchar *token = g_build_filename(dir, "tokens", TEST_ACCOUNT, NULL);
	g_autofree gchar *path = mo_export_status_path(token);
	g_autoptr(MoExportStatus) status = status_example(token);
	g_autoptr(MoExportStatus) back = NULL;
	struct stat st;

	status->last_error = g_strdup("invalid_grant: AADSTS70000");
	status->needs_sign_in = TRUE;
	write_ok(token, status);
	assert_int_equal(lstat(path, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0644);
	assert_int_equal(st.st_uid, getuid());
	back = read_ok(path);
	assert_string_equal(back->account, TEST_ACCOUNT);
	assert_string_equal(back->path, token);
	mo_assert_int64_equal(back->expiry, 1700003600);
	mo_assert_int64_equal(back->last_refresh, 1700000000);
	mo_assert_int64_equal(back->updated, 1700000005);
	assert_string_equal(back->last_error, "invalid_grant: AADSTS70000");
	assert_true(back->needs_sign_in);
}

static void
test_json_members(void **state)
{
	g_autoptr(MoExportStatus) status = status_example("/etc/sasl-tokens/x");
	g_autofree gchar *json = mo_export_status_to_json(status);
	g_autoptr(GError) error = NULL;
	g_autoptr(MoJson) obj = mo_json_parse(json, -1, &error);
	MoJson *needs = NULL;

	mo_assert_no_error(error);
	assert_int_equal(mo_json_object_size(obj), 7);
	assert_string_equal(mo_json_get_number_text(mo_json_object_get(obj, "version")), "1");
	assert_string_equal(mo_json_get_number_text(mo_json_object_get(obj, "expiry")),
			    "1700003600");
	assert_null(mo_json_object_get(obj, "last_error"));
	needs = mo_json_object_get(obj, "needs_sign_in");
	assert_int_equal(mo_json_get_type(needs), MO_JSON_BOOLEAN);
	assert_false(mo_json_get_boolean(needs));
}

static void
test_updated_defaults_to_now(void **state)
{
	g_autoptr(MoExportStatus) status = status_example("/etc/sasl-tokens/x");
	g_autofree gchar *json = NULL;
	g_autoptr(MoJson) obj = NULL;
	gint64 before = mo_test_now();
	gint64 updated = 0;

	status->updated = 0;
	json = mo_export_status_to_json(status);
	obj = mo_json_parse(json, -1, NULL);
	assert_true(mo_json_get_int64(obj, "updated", &updated, "test", NULL));
	assert_true(updated >= before && updated <= mo_test_now());
}

static void
test_last_error_cleaned(void **state)
{
	g_autofree gchar *dir = case_dir("last-error", TRUE);
	g_autofree gchar *token = g_build_filename(dir, "tokens", TEST_ACCOUNT, NULL);
	g_autofree gchar *path = mo_export_status_path(token);
	g_autoptr(MoExportStatus) status = status_example(token);
	g_autoptr(MoExportStatus) back = NULL;

	status->last_error = g_strdup("line one\nline\ttwo \033[31mred\x7f\xc2\x85 end");
	write_ok(token, status);
	back = read_ok(path);
	assert_string_equal(back->last_error, "line one?line?two ?[31mred?? end");
}

static void
test_last_error_cut(void **state)
{
	g_autofree gchar *dir = case_dir("last-error-cut", TRUE);
	g_autofree gchar *token = g_build_filename(dir, "tokens", TEST_ACCOUNT, NULL);
	g_autofree gchar *path = mo_export_status_path(token);
	g_autoptr(MoExportStatus) status = status_example(token);
	g_autoptr(MoExportStatus) back = NULL;
	g_autoptr(GString) text = g_string_new(NULL);

	/* 299 bytes, then a 2-byte character that would end at 301: cut before it */
	for (guint i = 0; i < MO_EXPORT_STATUS_ERROR_MAX - 1; i++)
		g_string_append_c(text, 'a' + i % 26);
	g_string_append(text, "é and more");
	status->last_error = g_strdup(text->str);
	write_ok(token, status);
	back = read_ok(path);
	assert_int_equal(strlen(back->last_error), MO_EXPORT_STATUS_ERROR_MAX - 1);
	assert_true(g_str_has_prefix(text->str, back->last_error));
	assert_true(g_utf8_validate(back->last_error, -1, NULL));
}

static void
test_replace_is_atomic(void **state)
{
	g_autofree gchar *dir = case_dir("replace", TRUE);
	g_autofree gchar *token = g_build_filename(dir, "tokens", TEST_ACCOUNT, NULL);
	g_autofree gchar *path = mo_export_status_path(token);
	g_autofree gchar *status_dir = g_path_get_dirname(path);
	g_autoptr(MoExportStatus) status = status_example(token);
	g_autoptr(MoExportStatus) back = NULL;
	g_autofree gchar *listing = NULL;
	struct stat first;
	struct stat second;

	write_ok(token, status);
	assert_int_equal(lstat(path, &first), 0);
	status->expiry = 1800000000;
	write_ok(token, status);
	assert_int_equal(lstat(path, &second), 0);
	assert_true(first.st_ino != second.st_ino);
	back = read_ok(path);
	mo_assert_int64_equal(back->expiry, 1800000000);
	listing = mo_test_list_dir(status_dir);
	assert_string_equal(listing, TEST_ACCOUNT);
}

static void
test_owner_of_status_dir(void **state)
{
	g_autofree gchar *dir = NULL;
	g_autofree gchar *token = NULL;
	g_autofree gchar *path = NULL;
	g_autofree gchar *status_dir = NULL;
	g_autoptr(MoExportStatus) status = NULL;
	struct stat st;

	if (geteuid() != 0)
		skip();
	dir = case_dir("owner", TRUE);
	token = g_build_filename(dir, "tokens", TEST_ACCOUNT, NULL);
	path = mo_export_status_path(token);
	status_dir = g_path_get_dirname(path);
	status = status_example(token);
	assert_int_equal(chown(status_dir, TEST_OTHER_UID, TEST_OTHER_GID), 0);
	write_ok(token, status);
	assert_int_equal(lstat(path, &st), 0);
	assert_int_equal(st.st_uid, TEST_OTHER_UID);
	assert_int_equal(st.st_gid, TEST_OTHER_GID);
	assert_int_equal(st.st_mode & 07777, 0644);
}

static void
test_status_dir_symlink_refused(void **state)
{
	g_autofree gchar *dir = case_dir("symlink", FALSE);
	g_autofree gchar *elsewhere = g_build_filename(dir, "elsewhere", NULL);
	g_autofree gchar *link = g_build_filename(dir, "tokens.status", NULL);
	g_autofree gchar *token = g_build_filename(dir, "tokens", TEST_ACCOUNT, NULL);
	g_autoptr(MoExportStatus) status = status_example(token);
	g_autoptr(GError) error = NULL;
	g_autofree gchar *listing = NULL;

	assert_int_equal(g_mkdir(elsewhere, 0755), 0);
	assert_int_equal(symlink(elsewhere, link), 0);
	assert_false(mo_export_status_write(token, status, &error));
	mo_assert_error(error, MO_ERROR, MO_ERROR_INVALID_DATA);
	mo_assert_str_contains(error->message, link);
	listing = mo_test_list_dir(elsewhere);
	assert_string_equal(listing, "");
}

static void
test_no_secret_members(void **state)
{
	g_autoptr(MoExportStatus) status = status_example("/etc/sasl-tokens/x");
	g_autofree gchar *json = mo_export_status_to_json(status);

	mo_assert_str_lacks(json, "token\"");
	mo_assert_str_lacks(json, "secret");
}

static void
read_fails(const gchar *name, const gchar *contents, const gchar *message)
{
	g_autofree gchar *path = g_build_filename(test_dir, name, NULL);
	g_autoptr(GError) error = NULL;
	g_autoptr(MoExportStatus) status = NULL;

	mo_test_write_file(path, contents);
	status = mo_export_status_read(path, &error);
	assert_null(status);
	mo_assert_error(error, MO_ERROR, MO_ERROR_INVALID_DATA);
	mo_assert_str_contains(error->message, message);
}

static void
test_read_refuses(void **state)
{
	g_autofree gchar *missing = g_build_filename(test_dir, "missing", NULL);
	g_autoptr(GError) error = NULL;

	read_fails("not-json", "{\"version\":1,", "not valid JSON");
	read_fails("newer", "{\"version\":2,\"account\":\"a\",\"path\":\"/p\"}", "version 2");
	read_fails("no-account", "{\"version\":1,\"path\":\"/p\"}", "names no account");
	read_fails("needs-type",
		   "{\"version\":1,\"account\":\"a\",\"path\":\"/p\",\"needs_sign_in\":1}",
		   "needs_sign_in");
	read_fails("expiry-type",
		   "{\"version\":1,\"account\":\"a\",\"path\":\"/p\",\"expiry\":-1}",
		   "expiry");
	assert_null(mo_export_status_read(missing, &error));
	mo_assert_error(error, MO_ERROR, MO_ERROR_INVALID_DATA);
}

static void
test_read_cleans_last_error(void **state)
{
	g_autofree gchar *path = g_build_filename(test_dir, "forged", NULL);
	g_autoptr(MoExportStatus) status = NULL;

	mo_test_write_file(path,
			   "{\"version\":1,\"account\":\"a\",\"path\":\"/p\","
			   "\"last_error\":\"bad\\u001b]0;title\\u0007\\nforged line\"}");
	status = read_ok(path);
	assert_string_equal(status->last_error, "bad?]0;title??forged line");
	mo_assert_int64_equal(status->expiry, 0);
	assert_false(status->needs_sign_in);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_path),
		cmocka_unit_test(test_write_without_status_dir),
		cmocka_unit_test(test_write_read_round_trip),
		cmocka_unit_test(test_json_members),
		cmocka_unit_test(test_updated_defaults_to_now),
		cmocka_unit_test(test_last_error_cleaned),
		cmocka_unit_test(test_last_error_cut),
		cmocka_unit_test(test_replace_is_atomic),
		cmocka_unit_test(test_owner_of_status_dir),
		cmocka_unit_test(test_status_dir_symlink_refused),
		cmocka_unit_test(test_no_secret_members),
		cmocka_unit_test(test_read_refuses),
		cmocka_unit_test(test_read_cleans_last_error),
	};
	gint rc;

	mo_test_init();
	test_dir = mo_test_make_tmpdir();
	cmocka_set_message_output(CM_OUTPUT_TAP);
	rc = cmocka_run_group_tests_name("unit/export-status", tests, NULL, NULL);
	mo_test_rm_rf(test_dir);
	g_free(test_dir);
	return rc;
}
