/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "mo-secure.h"
#include "mo-test.h"

static void
test_wipe(void **state)
{
	gchar buf[] = "secret-token";
	const gchar zeros[sizeof(buf)] = {0};

	mo_secure_wipe(buf, sizeof(buf));
	assert_memory_equal(buf, zeros, sizeof(buf));
	/* NULL and zero length are harmless */
	mo_secure_wipe(NULL, 10);
	mo_secure_wipe(buf, 0);
}

static void
test_wipe_partial(void **state)
{
	gchar buf[] = "abcdef";

	mo_secure_wipe(buf, 3);
	assert_memory_equal(buf, "\0\0\0def", sizeof(buf));
}

static void
test_free_secret(void **state)
{
	gchar *secret = g_strdup("refresh-token");
	gchar *none = NULL;

	mo_secure_free(NULL);
	mo_secure_freep(&none);
	mo_secure_freep(&secret);
	assert_null(secret);
}

static void
test_autosecret(void **state)
{
	gchar *escaped = NULL;

	{
		mo_autosecret gchar *secret = g_strdup("in scope");
		escaped = g_steal_pointer(&secret);
	}
	/* stolen before the scope ended: untouched */
	assert_string_equal(escaped, "in scope");
	mo_secure_free(escaped);
}

static void
test_redact(void **state)
{
	g_autofree gchar *none = mo_secure_redact(NULL);
	g_autofree gchar *empty = mo_secure_redact("");
	g_autofree gchar *some = mo_secure_redact("eyJ0eXAiOiJKV1Qi");

	assert_string_equal(none, "(none)");
	assert_string_equal(empty, "(none)");
	assert_string_equal(some, "(16 characters, hidden)");
	mo_assert_str_lacks(some, "eyJ");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_wipe),
		cmocka_unit_test(test_wipe_partial),
		cmocka_unit_test(test_free_secret),
		cmocka_unit_test(test_autosecret),
		cmocka_unit_test(test_redact),
	};

	mo_test_init();
	cmocka_set_message_output(CM_OUTPUT_TAP);
	return cmocka_run_group_tests_name("unit/secure", tests, NULL, NULL);
}
