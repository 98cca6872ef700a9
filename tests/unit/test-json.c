/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "mo-error.h"
#include "mo-json.h"
#include "mo-test.h"

#define WHAT "test document"

static JsonObject *
parse_ok(const gchar *json)
{
	g_autoptr(GError) error = NULL;
	JsonObject *obj = mo_json_parse_object(json, -1, WHAT, &error);

	mo_assert_no_error(error);
	assert_non_null(obj);
	return obj;
}

static void
assert_parse_fails(const gchar *json, gssize len, const gchar *expected_in_message)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(JsonObject) obj = mo_json_parse_object(json, len, WHAT, &error);

	assert_null(obj);
	mo_assert_error(error, MO_ERROR, MO_ERROR_INVALID_DATA);
	mo_assert_str_contains(error->message, WHAT);
	mo_assert_str_contains(error->message, expected_in_message);
}

static void
test_parse_object(void **state)
{
	g_autoptr(JsonObject) obj = parse_ok("  {\"a\": \"b\"}\n");

	assert_string_equal(json_object_get_string_member(obj, "a"), "b");
	assert_parse_fails("", -1, "empty");
	assert_parse_fails(NULL, -1, "empty");
	assert_parse_fails("{", -1, "not valid JSON");
	assert_parse_fails("[]", -1, "not a JSON object");
	assert_parse_fails("   ", -1, "not");
}

static void
test_parse_size_limit(void **state)
{
	g_autofree gchar *big = g_strnfill(MO_JSON_MAX_SIZE + 1, ' ');
	g_autoptr(JsonObject) obj = NULL;

	/* the length is checked before any parsing */
	big[0] = '{';
	big[MO_JSON_MAX_SIZE] = '}';
	assert_parse_fails(big, -1, "too large");
	big[MO_JSON_MAX_SIZE - 1] = '}';
	big[MO_JSON_MAX_SIZE] = '\0';
	obj = parse_ok(big);
	assert_int_equal(json_object_get_size(obj), 0);
}

static void
test_get_string(void **state)
{
	g_autoptr(JsonObject) obj = parse_ok("{\"s\":\"v\",\"n\":null,\"i\":1,\"o\":{},\"a\":[]}");
	const gchar *bad[] = {"i", "o", "a"};
	gchar *out = (gchar *)"untouched";

	assert_true(mo_json_get_string(obj, "s", &out, WHAT, NULL));
	assert_string_equal(out, "v");
	g_free(out);
	assert_true(mo_json_get_string(obj, "n", &out, WHAT, NULL));
	assert_null(out);
	assert_true(mo_json_get_string(obj, "absent", &out, WHAT, NULL));
	assert_null(out);
	for (guint i = 0; i < G_N_ELEMENTS(bad); i++) {
		g_autoptr(GError) error = NULL;
		assert_false(mo_json_get_string(obj, bad[i], &out, WHAT, &error));
		assert_null(out);
		mo_assert_error(error, MO_ERROR, MO_ERROR_INVALID_DATA);
		mo_assert_str_contains(error->message, bad[i]);
		mo_assert_str_contains(error->message, WHAT);
	}
}

static void
test_get_int64(void **state)
{
	g_autoptr(JsonObject) obj =
		parse_ok("{\"i\":9000000000,\"s\":\"9000000000\",\"d\":1e10,\"z\":\"0\","
			 "\"max\":\"9223372036854775807\",\"n\":null}");
	gint64 v = -1;

	assert_true(mo_json_get_int64(obj, "i", &v, WHAT, NULL));
	mo_assert_int64_equal(v, G_GINT64_CONSTANT(9000000000));
	assert_true(mo_json_get_int64(obj, "s", &v, WHAT, NULL));
	mo_assert_int64_equal(v, G_GINT64_CONSTANT(9000000000));
	assert_true(mo_json_get_int64(obj, "d", &v, WHAT, NULL));
	mo_assert_int64_equal(v, G_GINT64_CONSTANT(10000000000));
	assert_true(mo_json_get_int64(obj, "z", &v, WHAT, NULL));
	mo_assert_int64_equal(v, 0);
	assert_true(mo_json_get_int64(obj, "max", &v, WHAT, NULL));
	mo_assert_int64_equal(v, G_MAXINT64);
	v = -1;
	assert_true(mo_json_get_int64(obj, "n", &v, WHAT, NULL));
	mo_assert_int64_equal(v, 0);
	v = -1;
	assert_true(mo_json_get_int64(obj, "absent", &v, WHAT, NULL));
	mo_assert_int64_equal(v, 0);
}

static void
test_get_int64_refused(void **state)
{
	g_autoptr(JsonObject) obj =
		parse_ok("{\"a\":\"x\",\"b\":\"1x\",\"c\":\"+1\",\"d\":\"9223372036854775808\","
			 "\"e\":1e300,\"f\":true,\"g\":[1],\"h\":{},\"i\":\"\",\"j\":\" 1\"}");
	const gchar *bad[] = {"a", "b", "c", "d", "e", "f", "g", "h", "i", "j"};

	for (guint i = 0; i < G_N_ELEMENTS(bad); i++) {
		g_autoptr(GError) error = NULL;
		gint64 v = -1;

		if (mo_json_get_int64(obj, bad[i], &v, WHAT, &error))
			fail_msg("member %s accepted as %" G_GINT64_FORMAT, bad[i], v);
		mo_assert_error(error, MO_ERROR, MO_ERROR_INVALID_DATA);
		mo_assert_str_contains(error->message, bad[i]);
	}
}

/* Regression: "a whole number" accepts fractions and truncates them. */
static void
test_get_int64_refuses_fractions(void **state)
{
	g_autoptr(JsonObject) obj = parse_ok("{\"f\":1.5}");
	g_autoptr(GError) error = NULL;
	gint64 v = -1;

	if (mo_json_get_int64(obj, "f", &v, WHAT, &error))
		fail_msg("1.5 accepted as %" G_GINT64_FORMAT, v);
	mo_assert_error(error, MO_ERROR, MO_ERROR_INVALID_DATA);
}

static void
test_set_and_serialize(void **state)
{
	g_autoptr(JsonObject) obj = json_object_new();
	g_autoptr(JsonObject) back = NULL;
	g_autofree gchar *compact = NULL;
	g_autofree gchar *pretty = NULL;

	mo_json_set_string(obj, "s", "v");
	mo_json_set_string(obj, "gone", "x");
	mo_json_set_string(obj, "gone", NULL);
	mo_json_set_string(obj, "never", NULL);
	mo_json_set_int64(obj, "big", G_GINT64_CONSTANT(9000000000));
	compact = mo_json_to_string(obj, FALSE);
	assert_string_equal(compact, "{\"s\":\"v\",\"big\":9000000000}");
	pretty = mo_json_to_string(obj, TRUE);
	mo_assert_str_contains(pretty, "\n");
	back = parse_ok(pretty);
	assert_string_equal(json_object_get_string_member(back, "s"), "v");
	mo_assert_int64_equal(json_object_get_int_member(back, "big"),
			      G_GINT64_CONSTANT(9000000000));
}

static void
test_check_version(void **state)
{
	g_autoptr(JsonObject) none = parse_ok("{}");
	g_autoptr(JsonObject) one = parse_ok("{\"version\":1}");
	g_autoptr(JsonObject) one_str = parse_ok("{\"version\":\"1\"}");
	g_autoptr(JsonObject) three = parse_ok("{\"version\":3}");
	g_autoptr(JsonObject) junk = parse_ok("{\"version\":\"v1\"}");
	g_autoptr(GError) error = NULL;
	g_autoptr(GError) error_junk = NULL;

	assert_true(mo_json_check_version(none, 1, WHAT, NULL));
	assert_true(mo_json_check_version(one, 1, WHAT, NULL));
	assert_true(mo_json_check_version(one_str, 1, WHAT, NULL));
	assert_true(mo_json_check_version(one, 2, WHAT, NULL));
	assert_false(mo_json_check_version(three, 2, WHAT, &error));
	mo_assert_error(error, MO_ERROR, MO_ERROR_INVALID_DATA);
	mo_assert_str_contains(error->message, WHAT);
	mo_assert_str_contains(error->message, "version 3");
	mo_assert_str_contains(error->message, "(2)");
	assert_false(mo_json_check_version(junk, 1, WHAT, &error_junk));
	mo_assert_error(error_junk, MO_ERROR, MO_ERROR_INVALID_DATA);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_object),
		cmocka_unit_test(test_parse_size_limit),
		cmocka_unit_test(test_get_string),
		cmocka_unit_test(test_get_int64),
		cmocka_unit_test(test_get_int64_refused),
		cmocka_unit_test(test_set_and_serialize),
		cmocka_unit_test(test_check_version),
		cmocka_unit_test(test_get_int64_refuses_fractions),
	};

	mo_test_init();
	cmocka_set_message_output(CM_OUTPUT_TAP);
	return cmocka_run_group_tests_name("unit/json", tests, NULL, NULL);
}
