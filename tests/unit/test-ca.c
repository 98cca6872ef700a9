/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <glib/gstdio.h>

#include "mo-ca.h"
#include "mo-error.h"
#include "mo-test.h"

#define PEM_A "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"
#define PEM_B "-----BEGIN CERTIFICATE-----\nBBBB\n-----END CERTIFICATE-----\n"

static gchar *test_dir;

static gboolean
preloaded_has(const gchar *needle)
{
	GBytes *bytes = mo_ca_get_preloaded();
	g_autofree gchar *text = NULL;

	if (bytes == NULL)
		return FALSE;
	text = g_strndup(g_bytes_get_data(bytes, NULL), g_bytes_get_size(bytes));
	return strstr(text, needle) != NULL;
}

static void
test_file(void **state)
{
	g_autofree gchar *path = g_build_filename(test_dir, "bundle.pem", NULL);
	g_autoptr(GError) error = NULL;

	mo_test_write_file(path, PEM_A);
	assert_true(mo_ca_preload(path, NULL, &error));
	mo_assert_no_error(error);
	assert_true(preloaded_has("AAAA"));
	assert_false(preloaded_has("BBBB"));
}

/* A directory: its *.pem and *.crt files, not the hash links or other files beside them. */
static void
test_dir_and_file(void **state)
{
	g_autofree gchar *file = g_build_filename(test_dir, "bundle.pem", NULL);
	g_autofree gchar *dir = g_build_filename(test_dir, "certs", NULL);
	g_autofree gchar *b = g_build_filename(dir, "b.crt", NULL);
	g_autofree gchar *other = g_build_filename(dir, "README", NULL);
	g_autoptr(GError) error = NULL;

	g_mkdir(dir, 0700);
	mo_test_write_file(file, PEM_A);
	mo_test_write_file(b, PEM_B);
	mo_test_write_file(other, "CCCC");
	assert_true(mo_ca_preload(file, dir, &error));
	mo_assert_no_error(error);
	assert_true(preloaded_has("AAAA"));
	assert_true(preloaded_has("BBBB"));
	assert_false(preloaded_has("CCCC"));
}

/* A failed preload names the file and keeps what an earlier one read. */
static void
test_missing_file(void **state)
{
	g_autofree gchar *good = g_build_filename(test_dir, "bundle.pem", NULL);
	g_autoptr(GError) error = NULL;

	mo_test_write_file(good, PEM_A);
	assert_true(mo_ca_preload(good, NULL, NULL));
	assert_false(mo_ca_preload("/nonexistent/ca.pem", NULL, &error));
	assert_non_null(error);
	assert_non_null(strstr(error->message, "/nonexistent/ca.pem"));
	assert_true(preloaded_has("AAAA"));
}

/* Without a file or directory: libcurl's own default bundle (Debian: ca-certificates). */
static void
test_default_bundle(void **state)
{
	g_autoptr(GError) error = NULL;

	if (!g_file_test("/etc/ssl/certs/ca-certificates.crt", G_FILE_TEST_EXISTS))
		skip();
	assert_true(mo_ca_preload(NULL, NULL, &error));
	mo_assert_no_error(error);
	assert_true(preloaded_has("BEGIN CERTIFICATE"));
	assert_true(g_bytes_get_size(mo_ca_get_preloaded()) > 10000);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_file),
		cmocka_unit_test(test_dir_and_file),
		cmocka_unit_test(test_missing_file),
		cmocka_unit_test(test_default_bundle),
	};
	gint rc;

	mo_test_init();
	test_dir = mo_test_make_tmpdir();
	cmocka_set_message_output(CM_OUTPUT_TAP);
	rc = cmocka_run_group_tests_name("unit/ca", tests, NULL, NULL);
	mo_test_rm_rf(test_dir);
	g_free(test_dir);
	return rc;
}
