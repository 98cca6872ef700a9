/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "mo-config.h"
#include "mo-error.h"
#include "mo-test.h"
#include "mo-token.h"

static gchar *test_dir;

static gchar *
write_config(const gchar *name, const gchar *contents)
{
	gchar *path = g_build_filename(test_dir, name, NULL);

	mo_test_write_file(path, contents);
	return path;
}

static void
assert_defaults(const MoConfig *config)
{
	mo_assert_int64_equal(config->refresh_margin, MO_DEFAULT_REFRESH_MARGIN);
	assert_int_equal(config->keyring_timeout, MO_DEFAULT_KEYRING_TIMEOUT);
	assert_int_equal(config->http.connect_timeout, MO_HTTP_DEFAULT_CONNECT_TIMEOUT);
	assert_int_equal(config->http.timeout, MO_HTTP_DEFAULT_TIMEOUT);
}

static void
test_defaults(void **state)
{
	MoConfig config;

	memset(&config, 0xff, sizeof(config));
	mo_config_init_defaults(&config);
	assert_defaults(&config);
	/* the documented numbers */
	mo_assert_int64_equal(config.refresh_margin, 600);
	assert_int_equal(config.keyring_timeout, 30);
	assert_int_equal(config.http.connect_timeout, 10);
	assert_int_equal(config.http.timeout, 30);
}

static void
test_default_path(void **state)
{
	g_autofree gchar *path = mo_config_default_path();
	g_autofree gchar *expected =
		g_build_filename(test_dir, "config", "mailoauth", "mailoauth.conf", NULL);

	assert_string_equal(path, expected);
}

static void
test_load_values(void **state)
{
	g_autofree gchar *path = write_config("all.conf",
					      "# comment\n"
					      "[mailoauth]\n"
					      "refresh-margin=300\n"
					      "keyring-timeout=5\n"
					      "http-connect-timeout=3\n"
					      "http-timeout=20\n");
	g_autoptr(GError) error = NULL;
	MoConfig config;

	mo_config_init_defaults(&config);
	assert_true(mo_config_load(&config, path, &error));
	mo_assert_no_error(error);
	mo_assert_int64_equal(config.refresh_margin, 300);
	assert_int_equal(config.keyring_timeout, 5);
	assert_int_equal(config.http.connect_timeout, 3);
	assert_int_equal(config.http.timeout, 20);
}

static void
test_load_partial(void **state)
{
	g_autofree gchar *path = write_config("partial.conf", "[mailoauth]\nhttp-timeout=45\n");
	g_autoptr(GError) error = NULL;
	MoConfig config;

	mo_config_init_defaults(&config);
	assert_true(mo_config_load(&config, path, &error));
	mo_assert_no_error(error);
	assert_int_equal(config.http.timeout, 45);
	mo_assert_int64_equal(config.refresh_margin, MO_DEFAULT_REFRESH_MARGIN);
	assert_int_equal(config.keyring_timeout, MO_DEFAULT_KEYRING_TIMEOUT);
	assert_int_equal(config.http.connect_timeout, MO_HTTP_DEFAULT_CONNECT_TIMEOUT);
}

static void
test_load_bounds(void **state)
{
	g_autofree gchar *path = write_config("bounds.conf",
					      "[mailoauth]\n"
					      "refresh-margin=0\n"
					      "keyring-timeout=1\n"
					      "http-connect-timeout=86400\n"
					      "http-timeout=86400\n");
	g_autoptr(GError) error = NULL;
	MoConfig config;

	mo_config_init_defaults(&config);
	assert_true(mo_config_load(&config, path, &error));
	mo_assert_no_error(error);
	mo_assert_int64_equal(config.refresh_margin, 0);
	assert_int_equal(config.keyring_timeout, 1);
	assert_int_equal(config.http.connect_timeout, 86400);
	assert_int_equal(config.http.timeout, 86400);
}

static void
test_other_groups_ignored(void **state)
{
	g_autofree gchar *path =
		write_config("other.conf", "[other]\nrefresh-margin=oops\n[mailoauth]\n");
	g_autoptr(GError) error = NULL;
	MoConfig config;

	mo_config_init_defaults(&config);
	assert_true(mo_config_load(&config, path, &error));
	mo_assert_no_error(error);
	assert_defaults(&config);
}

static void
test_bad_value_names_key_and_file(void **state)
{
	const struct {
		const gchar *key;
		const gchar *value;
	} bad[] = {
		{"refresh-margin", "ten minutes"},
		{"refresh-margin", "-1"},
		{"refresh-margin", "86401"},
		{"refresh-margin", "1.5"},
		{"refresh-margin", ""},
		{"keyring-timeout", "0"},
		{"keyring-timeout", "x"},
		{"http-connect-timeout", "0"},
		{"http-connect-timeout", "99999999999999999999"},
		{"http-timeout", "-30"},
		{"http-timeout", "86401"},
	};

	for (guint i = 0; i < G_N_ELEMENTS(bad); i++) {
		g_autofree gchar *contents =
			g_strdup_printf("[mailoauth]\n%s=%s\n", bad[i].key, bad[i].value);
		g_autofree gchar *path = write_config("bad.conf", contents);
		g_autoptr(GError) error = NULL;
		MoConfig config;

		mo_config_init_defaults(&config);
		if (mo_config_load(&config, path, &error))
			fail_msg("accepted %s=%s", bad[i].key, bad[i].value);
		mo_assert_error(error, MO_ERROR, MO_ERROR_INVALID_DATA);
		mo_assert_str_contains(error->message, bad[i].key);
		mo_assert_str_contains(error->message, path);
	}
}

/* Regression: a load that fails on a later key has already changed
 * refresh_margin, unlike the other settings, which are applied only on success. */
static void
test_failed_load_changes_nothing(void **state)
{
	g_autofree gchar *path = write_config("half.conf",
					      "[mailoauth]\n"
					      "refresh-margin=100\n"
					      "keyring-timeout=7\n"
					      "http-timeout=never\n");
	g_autoptr(GError) error = NULL;
	MoConfig config;

	mo_config_init_defaults(&config);
	assert_false(mo_config_load(&config, path, &error));
	mo_assert_error(error, MO_ERROR, MO_ERROR_INVALID_DATA);
	assert_defaults(&config);
}

static void
test_missing_file_is_fine(void **state)
{
	g_autofree gchar *path = g_build_filename(test_dir, "absent.conf", NULL);
	g_autofree gchar *deep = g_build_filename(test_dir, "no", "such", "dir.conf", NULL);
	g_autoptr(GError) error = NULL;
	MoConfig config;

	mo_config_init_defaults(&config);
	assert_true(mo_config_load(&config, path, &error));
	mo_assert_no_error(error);
	assert_true(mo_config_load(&config, deep, &error));
	mo_assert_no_error(error);
	assert_defaults(&config);
}

static void
test_unreadable_file_names_file(void **state)
{
	g_autofree gchar *path = write_config("syntax.conf", "refresh-margin=5\n");
	g_autoptr(GError) error = NULL;
	g_autoptr(GError) error_dir = NULL;
	MoConfig config;

	/* a key outside any group is not a key file */
	mo_config_init_defaults(&config);
	assert_false(mo_config_load(&config, path, &error));
	mo_assert_error(error, MO_ERROR, MO_ERROR_INVALID_DATA);
	mo_assert_str_contains(error->message, path);

	/* a directory is not a missing file */
	assert_false(mo_config_load(&config, test_dir, &error_dir));
	mo_assert_error(error_dir, MO_ERROR, MO_ERROR_INVALID_DATA);
	mo_assert_str_contains(error_dir->message, test_dir);
	assert_defaults(&config);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_default_path),
		cmocka_unit_test(test_load_values),
		cmocka_unit_test(test_load_partial),
		cmocka_unit_test(test_load_bounds),
		cmocka_unit_test(test_other_groups_ignored),
		cmocka_unit_test(test_bad_value_names_key_and_file),
		cmocka_unit_test(test_missing_file_is_fine),
		cmocka_unit_test(test_unreadable_file_names_file),
		cmocka_unit_test(test_failed_load_changes_nothing),
	};
	g_autofree gchar *config_home = NULL;
	gint rc;

	mo_test_init();
	test_dir = mo_test_make_tmpdir();
	/* before anything asks GLib, which caches it */
	config_home = g_build_filename(test_dir, "config", NULL);
	g_setenv("XDG_CONFIG_HOME", config_home, TRUE);
	cmocka_set_message_output(CM_OUTPUT_TAP);
	rc = cmocka_run_group_tests_name("unit/config", tests, NULL, NULL);
	mo_test_rm_rf(test_dir);
	g_free(test_dir);
	return rc;
}
