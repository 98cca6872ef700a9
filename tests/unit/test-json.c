/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "mo-error.h"
#include "mo-json.h"
#include "mo-test.h"

/* json-glib only here, as an independent oracle: core does not link it. */
#include <json-glib/json-glib.h>

#define WHAT "test document"

typedef struct {
	const gchar *input;
	gssize len;	      /* -1: NUL-terminated */
	const gchar *compact; /* what mo_json_serialize() writes back */
} ValidCase;

typedef struct {
	const gchar *input;
	gssize len;
	const gchar *problem;
	gsize offset;
} InvalidCase;

/* Every class of input RFC 8259 allows, and how we write each back. */
static const ValidCase valid_cases[] = {
	{"0", -1, "0"},
	{"-0", -1, "-0"},
	{"-0.0e-0", -1, "-0.0e-0"},
	{"1e400", -1, "1e400"},
	{"-1.5E-7", -1, "-1.5E-7"},
	{"1E+2", -1, "1E+2"},
	{"123456789012345678901234567890", -1, "123456789012345678901234567890"},
	{"9223372036854775808", -1, "9223372036854775808"},
	{"-9223372036854775809", -1, "-9223372036854775809"},
	{" \t\r\n true \n", -1, "true"},
	{"false", -1, "false"},
	{"null", -1, "null"},
	{"\"\"", -1, "\"\""},
	{"[]", -1, "[]"},
	{"{}", -1, "{}"},
	{"[ ]", -1, "[]"},
	{"{ \"a\" : 1 , \"b\" : [ 1 , 2 ] }", -1, "{\"a\":1,\"b\":[1,2]}"},
	{"[1,[2,[3,{}]]]", -1, "[1,[2,[3,{}]]]"},
	{"{\"z\":1,\"a\":2,\"m\":3}", -1, "{\"z\":1,\"a\":2,\"m\":3}"},
	{"{\"a\":1,\"A\":2}", -1, "{\"a\":1,\"A\":2}"},
	{"{\"a\":{\"a\":1}}", -1, "{\"a\":{\"a\":1}}"},
	{"\"\\u00e9\\u00C9\"", -1, "\"éÉ\""},
	{"\"é😀\"", -1, "\"é😀\""},
	{"\"\\ud83d\\ude00\"", -1, "\"😀\""},
	{"\"\\uD83D\\uDE00\"", -1, "\"😀\""},
	{"\"\\udbff\\udfff\"", -1, "\"\xf4\x8f\xbf\xbf\""},
	{"\"\\uffff\\u0800\\u07ff\"", -1, "\"\xef\xbf\xbf\xe0\xa0\x80\xdf\xbf\""},
	{"\"\\u0000\"", -1, "\"\\u0000\""},
	{"\"a\\u0000b\"", -1, "\"a\\u0000b\""},
	{"{\"a\\u0000b\":1,\"a\\u0000c\":2}", -1, "{\"a\\u0000b\":1,\"a\\u0000c\":2}"},
	{"\"\\/\"", -1, "\"/\""},
	{"\"\\b\\f\\n\\r\\t\\\"\\\\\"", -1, "\"\\b\\f\\n\\r\\t\\\"\\\\\""},
	{"\"\\u0001\\u001f\\u007f\"", -1, "\"\\u0001\\u001f\\u007f\""},
	{"\"\x7f\"", -1, "\"\\u007f\""},
	/* an explicit length: what follows is not part of the document */
	{"[1]garbage", 3, "[1]"},
	{"\"\\u0041\"", -1, "\"A\""},
};

/* Each class of hostile or broken input, the problem named and the byte offset. */
static const InvalidCase invalid_cases[] = {
	{"", -1, "end of data", 0},
	{"   ", -1, "end of data", 3},
	{"[", -1, "end of data", 1},
	{"{", -1, "member name", 1},
	{"[1,2", -1, "Expected “,” or “]”", 4},
	{"01", -1, "Leading zero", 0},
	{"-01", -1, "Leading zero", 0},
	{"[00]", -1, "Leading zero", 1},
	{"+1", -1, "Unexpected character", 0},
	{"[+1]", -1, "Unexpected character", 1},
	{"NaN", -1, "Unexpected character", 0},
	{"Infinity", -1, "Unexpected character", 0},
	{"-Infinity", -1, "Invalid number", 0},
	{"[1,]", -1, "Unexpected character", 3},
	{"{\"a\":1,}", -1, "member name", 7},
	{"[,1]", -1, "Unexpected character", 1},
	{"[1 2]", -1, "Expected “,” or “]”", 3},
	{"{\"a\" 1}", -1, "Expected “:”", 5},
	{"{\"a\":1 \"b\":2}", -1, "Expected “,” or “}”", 7},
	{"{1:2}", -1, "member name", 1},
	{"{'a':1}", -1, "member name", 1},
	{"'a'", -1, "Unexpected character", 0},
	{"1 2", -1, "after the value", 2},
	{"{}}", -1, "after the value", 2},
	{"{} x", -1, "after the value", 3},
	{"truex", -1, "after the value", 4},
	{"tru", -1, "Unexpected character", 0},
	{"True", -1, "Unexpected character", 0},
	{"1.", -1, "Invalid number", 0},
	{"1.e5", -1, "Invalid number", 0},
	{".5", -1, "Unexpected character", 0},
	{"1e", -1, "Invalid number", 0},
	{"1e+", -1, "Invalid number", 0},
	{"-", -1, "Invalid number", 0},
	{"0x10", -1, "after the value", 1},
	{"// x\n{}", -1, "Unexpected character", 0},
	{"/* */{}", -1, "Unexpected character", 0},
	{"\xef\xbb\xbf{}", -1, "Unexpected character", 0},
	{"\xc3\xa9", -1, "Unexpected character", 0},
	{"\"abc", -1, "Unterminated string", 0},
	{"\"\\\"", -1, "Unterminated string", 0},
	{"[\"a\nb\"]", -1, "control character", 3},
	{"\"a\tb\"", -1, "control character", 2},
	{"\"\x01\"", -1, "control character", 1},
	{"\"\x1f\"", -1, "control character", 1},
	{"\"a\0b\"", 5, "control character", 2},
	{"1\0", 2, "after the value", 1},
	{"\"\\x\"", -1, "Invalid escape", 1},
	{"\"\\U0041\"", -1, "Invalid escape", 1},
	{"\"\\'\"", -1, "Invalid escape", 1},
	{"\"\\u12\"", -1, "Invalid \\u escape", 1},
	{"\"\\u12G4\"", -1, "Invalid \\u escape", 1},
	{"\"\\u-123\"", -1, "Invalid \\u escape", 1},
	{"\"\\ud800\"", -1, "high surrogate", 1},
	{"\"\\ud800x\"", -1, "high surrogate", 1},
	{"\"\\ud800\\u0041\"", -1, "high surrogate", 1},
	{"\"\\ud800\\ud800\"", -1, "high surrogate", 1},
	{"\"ab\\udbff\\n\"", -1, "high surrogate", 3},
	{"\"\\udc00\"", -1, "low surrogate", 1},
	{"\"\\udfff\\ud800\"", -1, "low surrogate", 1},
	{"\"\xff\"", -1, "Invalid UTF-8", 1},
	{"\"\x80\"", -1, "Invalid UTF-8", 1},
	{"\"\xc3\"", -1, "Invalid UTF-8", 1},
	{"\"a\xc3(\"", -1, "Invalid UTF-8", 2},
	{"\"\xc0\xaf\"", -1, "Invalid UTF-8", 1},
	{"\"\xc1\xbf\"", -1, "Invalid UTF-8", 1},
	{"\"\xe0\x80\xaf\"", -1, "Invalid UTF-8", 1},
	{"\"\xf0\x80\x80\xaf\"", -1, "Invalid UTF-8", 1},
	{"\"\xed\xa0\x80\"", -1, "Invalid UTF-8", 1},
	{"\"\xed\xbf\xbf\"", -1, "Invalid UTF-8", 1},
	{"\"\xf4\x90\x80\x80\"", -1, "Invalid UTF-8", 1},
	{"\"\xf8\x88\x80\x80\x80\"", -1, "Invalid UTF-8", 1},
	{"{\"k\xff\":1}", -1, "Invalid UTF-8", 3},
	{"{\"a\":1,\"a\":2}", -1, "Duplicate member name", 7},
	{"{\"a\":1,\"\\u0061\":2}", -1, "Duplicate member name", 7},
	{"{\"o\":{\"k\":1,\"b\":2,\"k\":null}}", -1, "Duplicate member name", 18},
	{"{\"\\u0000\":1,\"\\u0000\":2}", -1, "Duplicate member name", 12},
};

static MoJson *
value_ok(const gchar *json, gssize len)
{
	g_autoptr(GError) error = NULL;
	MoJson *value = mo_json_parse(json, len, &error);

	if (value == NULL)
		fail_msg("refused %s: %s", json, error->message);
	mo_assert_no_error(error);
	return value;
}

static void
assert_invalid(const InvalidCase *c)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(MoJson) value = mo_json_parse(c->input, c->len, &error);
	g_autofree gchar *at = g_strdup_printf("at byte offset %zu", c->offset);

	if (value != NULL)
		fail_msg("accepted %s", c->input);
	mo_assert_error(error, MO_ERROR, MO_ERROR_INVALID_DATA);
	if (strstr(error->message, c->problem) == NULL || strstr(error->message, at) == NULL)
		fail_msg("%s: “%s”, expected “%s %s”", c->input, error->message, c->problem, at);
}

/* Serializes @value both ways, parses both back and checks nothing changed. */
static void
assert_round_trip(const MoJson *value)
{
	g_autofree gchar *compact = mo_json_serialize(value, FALSE);
	g_autofree gchar *pretty = mo_json_serialize(value, TRUE);
	g_autoptr(MoJson) from_compact = value_ok(compact, -1);
	g_autoptr(MoJson) from_pretty = value_ok(pretty, -1);
	g_autofree gchar *again = mo_json_serialize(from_compact, FALSE);
	g_autofree gchar *again_pretty = mo_json_serialize(from_pretty, FALSE);

	assert_string_equal(again, compact);
	assert_string_equal(again_pretty, compact);
}

static void
test_valid_inputs(void **state)
{
	for (guint i = 0; i < G_N_ELEMENTS(valid_cases); i++) {
		const ValidCase *c = &valid_cases[i];
		g_autoptr(MoJson) value = value_ok(c->input, c->len);
		g_autofree gchar *compact = mo_json_serialize(value, FALSE);

		assert_string_equal(compact, c->compact);
		assert_round_trip(value);
	}
}

static void
test_invalid_inputs(void **state)
{
	for (guint i = 0; i < G_N_ELEMENTS(invalid_cases); i++)
		assert_invalid(&invalid_cases[i]);
}

/* The message says where, never what: the document may be a token file. */
static void
test_error_does_not_quote_input(void **state)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(MoJson) value =
		mo_json_parse("{\"refresh_token\":\"s3cret-value\x01\"}", -1, &error);

	assert_null(value);
	mo_assert_error(error, MO_ERROR, MO_ERROR_INVALID_DATA);
	mo_assert_str_lacks(error->message, "s3cret");
	mo_assert_str_lacks(error->message, "refresh_token");
}

/* mo_json_parse() itself: a string filling exactly the limit, and one byte more. */
static void
test_parse_size_limit_value(void **state)
{
	g_autofree gchar *doc = g_strnfill(MO_JSON_MAX_SIZE + 1, 'x');
	g_autoptr(MoJson) value = NULL;
	g_autoptr(GError) error = NULL;

	doc[0] = '"';
	doc[MO_JSON_MAX_SIZE - 1] = '"';
	value = value_ok(doc, MO_JSON_MAX_SIZE);
	assert_int_equal(strlen(mo_json_get_string_value(value)), MO_JSON_MAX_SIZE - 2);
	doc[MO_JSON_MAX_SIZE - 1] = 'x';
	doc[MO_JSON_MAX_SIZE] = '"';
	assert_null(mo_json_parse(doc, MO_JSON_MAX_SIZE + 1, &error));
	mo_assert_error(error, MO_ERROR, MO_ERROR_INVALID_DATA);
	mo_assert_str_contains(error->message, "262144");
}

static gchar *
nested(guint depth, const gchar *open, const gchar *inner, const gchar *close)
{
	GString *s = g_string_new(NULL);

	for (guint i = 0; i < depth; i++)
		g_string_append(s, open);
	g_string_append(s, inner);
	for (guint i = 0; i < depth; i++)
		g_string_append(s, close);
	return g_string_free(s, FALSE);
}

static void
test_depth_limit(void **state)
{
	g_autofree gchar *arrays = nested(MO_JSON_MAX_DEPTH, "[", "1", "]");
	g_autofree gchar *arrays_over = nested(MO_JSON_MAX_DEPTH + 1, "[", "1", "]");
	g_autofree gchar *objects = nested(MO_JSON_MAX_DEPTH, "{\"a\":", "1", "}");
	g_autofree gchar *objects_over = nested(MO_JSON_MAX_DEPTH + 1, "{\"a\":", "1", "}");
	g_autofree gchar *empty_over = nested(MO_JSON_MAX_DEPTH + 1, "[", "", "]");
	/* far beyond the limit, within the size: refused without deep recursion */
	g_autofree gchar *huge = g_strnfill(MO_JSON_MAX_SIZE, '[');
	g_autoptr(MoJson) a = value_ok(arrays, -1);
	g_autoptr(MoJson) o = value_ok(objects, -1);
	const InvalidCase over[] = {
		{arrays_over, -1, "Nested too deeply", MO_JSON_MAX_DEPTH},
		{objects_over, -1, "Nested too deeply", MO_JSON_MAX_DEPTH * 5},
		{empty_over, -1, "Nested too deeply", MO_JSON_MAX_DEPTH},
		{huge, -1, "Nested too deeply", MO_JSON_MAX_DEPTH},
	};

	assert_round_trip(a);
	assert_round_trip(o);
	for (guint i = 0; i < G_N_ELEMENTS(over); i++)
		assert_invalid(&over[i]);
}

/* A 256 KiB object of short distinct keys: the duplicate check must stay quick. */
static void
test_many_members(void **state)
{
	GString *doc = g_string_new("{");
	g_autoptr(MoJson) obj = NULL;
	guint n = 0;

	while (doc->len < MO_JSON_MAX_SIZE - 16) {
		g_string_append_printf(doc, "%s\"%x\":0", n > 0 ? "," : "", n);
		n++;
	}
	g_string_append(doc, "}");
	obj = value_ok(doc->str, doc->len);
	assert_int_equal(mo_json_object_size(obj), n);
	g_string_free(doc, TRUE);
}

static void
test_numbers_keep_text(void **state)
{
	g_autoptr(MoJson) obj = value_ok("{\"big\":123456789012345678901234567890,\"inf\":1e400,"
					 "\"neg0\":-0,\"f\":2.50,\"e\":1E+2}",
					 -1);
	const gchar *members[] = {"big", "inf", "neg0", "f", "e"};
	const gchar *texts[] = {"123456789012345678901234567890", "1e400", "-0", "2.50", "1E+2"};

	for (guint i = 0; i < G_N_ELEMENTS(members); i++) {
		MoJson *number = mo_json_object_get(obj, members[i]);
		assert_int_equal(mo_json_get_type(number), MO_JSON_NUMBER);
		assert_string_equal(mo_json_get_number_text(number), texts[i]);
		assert_null(mo_json_get_string_value(number));
	}
}

static void
test_pretty_layout(void **state)
{
	g_autoptr(MoJson) value =
		value_ok("{\"a\":1,\"b\":[true,null],\"c\":{},\"d\":[],\"e\":{\"f\":\"g\"}}", -1);
	g_autoptr(MoJson) array = value_ok("[[],{\"k\":[1]}]", -1);
	g_autofree gchar *pretty = mo_json_serialize(value, TRUE);
	g_autofree gchar *pretty_array = mo_json_serialize(array, TRUE);

	assert_string_equal(pretty,
			    "{\n"
			    "  \"a\": 1,\n"
			    "  \"b\": [\n"
			    "    true,\n"
			    "    null\n"
			    "  ],\n"
			    "  \"c\": {},\n"
			    "  \"d\": [],\n"
			    "  \"e\": {\n"
			    "    \"f\": \"g\"\n"
			    "  }\n"
			    "}");
	assert_string_equal(pretty_array,
			    "[\n"
			    "  [],\n"
			    "  {\n"
			    "    \"k\": [\n"
			    "      1\n"
			    "    ]\n"
			    "  }\n"
			    "]");
}

static void
test_serialize_escapes(void **state)
{
	g_autoptr(MoJson) value = mo_json_new_string("\"\\\b\f\n\r\t\x01\x1f\x7f/é😀 ");
	g_autoptr(MoJson) obj = mo_json_new_object();
	g_autofree gchar *text = mo_json_serialize(value, FALSE);
	g_autofree gchar *obj_text = NULL;

	assert_string_equal(text, "\"\\\"\\\\\\b\\f\\n\\r\\t\\u0001\\u001f\\u007f/é😀 \"");
	mo_json_object_set(obj, "k\"\n", mo_json_new_string("v"));
	obj_text = mo_json_serialize(obj, TRUE);
	assert_string_equal(obj_text, "{\n  \"k\\\"\\n\": \"v\"\n}");
	assert_round_trip(value);
	assert_round_trip(obj);
}

static void
test_member_order_and_set_in_place(void **state)
{
	g_autoptr(MoJson) obj = value_ok("{\"z\":1,\"a\":2,\"m\":3,\"b\":4}", -1);
	g_autofree gchar *text = NULL;

	mo_json_object_set(obj, "a", mo_json_new_string("two"));
	mo_json_object_set(obj, "z", mo_json_new_boolean(FALSE));
	mo_json_object_set(obj, "new", mo_json_new_null());
	mo_json_object_remove(obj, "m");
	mo_json_object_remove(obj, "absent");
	text = mo_json_serialize(obj, FALSE);
	assert_string_equal(text, "{\"z\":false,\"a\":\"two\",\"b\":4,\"new\":null}");
	assert_int_equal(mo_json_object_size(obj), 4);
	assert_false(mo_json_get_boolean(mo_json_object_get(obj, "z")));
	assert_null(mo_json_object_get(obj, "m"));
}

static void
test_build_values(void **state)
{
	g_autoptr(MoJson) array = mo_json_new_array();
	g_autofree gchar *text = NULL;

	mo_json_array_add(array, mo_json_new_int(G_MININT64));
	mo_json_array_add(array, mo_json_new_int(G_MAXINT64));
	mo_json_array_add(array, mo_json_new_boolean(TRUE));
	mo_json_array_add(array, mo_json_new_null());
	mo_json_array_add(array, mo_json_new_object());
	mo_json_array_add(array, mo_json_new_array());
	mo_json_array_add(array, mo_json_new_string(""));
	text = mo_json_serialize(array, FALSE);
	assert_string_equal(text,
			    "[-9223372036854775808,9223372036854775807,true,null,{},[],\"\"]");
	assert_int_equal(mo_json_array_length(array), 7);
	assert_int_equal(mo_json_get_type(mo_json_array_get(array, 0)), MO_JSON_NUMBER);
	assert_int_equal(mo_json_get_type(mo_json_array_get(array, 4)), MO_JSON_OBJECT);
	assert_true(mo_json_get_boolean(mo_json_array_get(array, 2)));
	assert_null(mo_json_array_get(array, 7));
	assert_round_trip(array);
}

/* --- cross-check against json-glib --- */

static void assert_same_as_glib(const MoJson *ours, JsonNode *theirs);

/* Same members, same values, same order: rebuilt in json-glib's order, ours must not change. */
static void
assert_same_object_as_glib(const MoJson *ours, JsonObject *theirs)
{
	g_autoptr(GList) members = json_object_get_members(theirs);
	g_autoptr(MoJson) reordered = mo_json_new_object();
	g_autofree gchar *ours_text = mo_json_serialize(ours, FALSE);
	g_autofree gchar *reordered_text = NULL;

	assert_int_equal(mo_json_object_size(ours), json_object_get_size(theirs));
	for (GList *l = members; l != NULL; l = l->next) {
		const gchar *name = l->data;
		MoJson *member = mo_json_object_get(ours, name);
		g_autofree gchar *member_text = NULL;

		if (member == NULL)
			fail_msg("json-glib found member %s, we did not", name);
		assert_same_as_glib(member, json_object_get_member(theirs, name));
		member_text = mo_json_serialize(member, FALSE);
		mo_json_object_set(reordered, name, value_ok(member_text, -1));
	}
	reordered_text = mo_json_serialize(reordered, FALSE);
	assert_string_equal(reordered_text, ours_text);
}

static void
assert_same_value_as_glib(const MoJson *ours, JsonNode *theirs)
{
	GType type = json_node_get_value_type(theirs);

	if (type == G_TYPE_STRING) {
		assert_int_equal(mo_json_get_type(ours), MO_JSON_STRING);
		assert_string_equal(mo_json_get_string_value(ours), json_node_get_string(theirs));
	} else if (type == G_TYPE_BOOLEAN) {
		assert_int_equal(mo_json_get_type(ours), MO_JSON_BOOLEAN);
		assert_int_equal(mo_json_get_boolean(ours), json_node_get_boolean(theirs));
	} else if (type == G_TYPE_INT64) {
		assert_int_equal(mo_json_get_type(ours), MO_JSON_NUMBER);
		mo_assert_int64_equal(g_ascii_strtoll(mo_json_get_number_text(ours), NULL, 10),
				      json_node_get_int(theirs));
	} else {
		assert_int_equal(type, G_TYPE_DOUBLE);
		assert_int_equal(mo_json_get_type(ours), MO_JSON_NUMBER);
		assert_true(g_ascii_strtod(mo_json_get_number_text(ours), NULL) ==
			    json_node_get_double(theirs));
	}
}

static void
assert_same_as_glib(const MoJson *ours, JsonNode *theirs)
{
	switch (json_node_get_node_type(theirs)) {
	case JSON_NODE_NULL:
		assert_int_equal(mo_json_get_type(ours), MO_JSON_NULL);
		break;
	case JSON_NODE_VALUE:
		assert_same_value_as_glib(ours, theirs);
		break;
	case JSON_NODE_ARRAY: {
		JsonArray *array = json_node_get_array(theirs);
		assert_int_equal(mo_json_get_type(ours), MO_JSON_ARRAY);
		assert_int_equal(mo_json_array_length(ours), json_array_get_length(array));
		for (guint i = 0; i < json_array_get_length(array); i++)
			assert_same_as_glib(mo_json_array_get(ours, i),
					    json_array_get_element(array, i));
		break;
	}
	case JSON_NODE_OBJECT:
		assert_int_equal(mo_json_get_type(ours), MO_JSON_OBJECT);
		assert_same_object_as_glib(ours, json_node_get_object(theirs));
		break;
	}
}

/* Serializes @ours both ways and has json-glib read each back. */
static void
assert_glib_reads(const MoJson *ours)
{
	for (guint pretty = 0; pretty < 2; pretty++) {
		g_autofree gchar *text = mo_json_serialize(ours, pretty);
		g_autoptr(JsonParser) parser = json_parser_new();
		g_autoptr(GError) error = NULL;

		if (!json_parser_load_from_data(parser, text, -1, &error))
			fail_msg("json-glib refused our %s: %s", text, error->message);
		assert_same_as_glib(ours, json_parser_get_root(parser));
	}
}

/* A random string: ASCII, controls, quotes, backslashes, two- to four-byte characters.
 * No U+0000: json-glib cuts strings short there. */
static MoJson *
random_string(GRand *rand)
{
	static const gunichar pool[] = {'a',   'Z',    '0',    ' ',    '"',	'\\',	 '/',
					'\n',  '\t',   0x01,   0x1f,   0x7f,	0xe9,	 0x7ff,
					0x800, 0x20ac, 0xfffd, 0xffff, 0x1f600, 0x10ffff};
	GString *s = g_string_new(NULL);
	guint len = g_rand_int_range(rand, 0, 12);
	MoJson *value;

	for (guint i = 0; i < len; i++)
		g_string_append_unichar(s, pool[g_rand_int_range(rand, 0, G_N_ELEMENTS(pool))]);
	value = mo_json_new_string(s->str);
	g_string_free(s, TRUE);
	return value;
}

static MoJson *
random_scalar(GRand *rand)
{
	static const gchar *numbers[] = {"0",
					 "-0",
					 "1",
					 "-1",
					 "9223372036854775807",
					 "0.5",
					 "-2.25e-3",
					 "1E+20",
					 "123.456"};
	switch (g_rand_int_range(rand, 0, 5)) {
	case 0:
		return mo_json_new_null();
	case 1:
		return mo_json_new_boolean(g_rand_boolean(rand));
	case 2:
		return mo_json_new_int((gint64)g_rand_int(rand) - G_MAXINT32);
	case 3:
		/* numbers other than integers exist only as parsed text */
		return value_ok(numbers[g_rand_int_range(rand, 0, G_N_ELEMENTS(numbers))], -1);
	default:
		return random_string(rand);
	}
}

static MoJson *
random_value(GRand *rand, guint depth)
{
	guint kind = depth < 4 ? g_rand_int_range(rand, 0, 4) : 0;
	guint n = g_rand_int_range(rand, 0, 5);
	MoJson *value;

	if (kind < 2)
		return random_scalar(rand);
	value = kind == 2 ? mo_json_new_array() : mo_json_new_object();
	for (guint i = 0; i < n; i++) {
		g_autofree gchar *key = g_strdup_printf("k%u", g_rand_int_range(rand, 0, 8));
		if (kind == 2)
			mo_json_array_add(value, random_value(rand, depth + 1));
		else
			mo_json_object_set(value, key, random_value(rand, depth + 1));
	}
	return value;
}

static void
test_glib_reads_ours(void **state)
{
	g_autoptr(GRand) rand = g_rand_new_with_seed(20240601);
	g_autoptr(MoJson) fixed =
		value_ok("{\"version\":1,\"access_token\":\"a.b-c_d\",\"expiry\":\"4102444800\","
			 "\"big\":9000000000,\"neg\":-42,\"f\":0.25,\"e\":1.5e3,\"t\":true,"
			 "\"n\":null,\"s\":\"\\\"\\\\\\/\\b\\f\\n\\r\\t\\u0001\\u007f é😀\","
			 "\"a\":[[],{},[1,[2]],{\"x\":{\"y\":[null]}}]}",
			 -1);

	assert_glib_reads(fixed);
	for (guint i = 0; i < 300; i++) {
		g_autoptr(MoJson) value = random_value(rand, 0);
		assert_glib_reads(value);
		assert_round_trip(value);
	}
}

/* The other way: keyring items written by the json-glib-based mailoauth still parse. */
static void
test_we_read_glib(void **state)
{
	g_autoptr(JsonBuilder) builder = json_builder_new();
	g_autoptr(JsonGenerator) generator = json_generator_new();
	g_autoptr(JsonNode) root = NULL;

	json_builder_begin_object(builder);
	json_builder_set_member_name(builder, "version");
	json_builder_add_int_value(builder, 1);
	json_builder_set_member_name(builder, "refresh_token");
	json_builder_add_string_value(builder, "r\"\\\n\x01\x7f é😀");
	json_builder_set_member_name(builder, "list");
	json_builder_begin_array(builder);
	json_builder_add_null_value(builder);
	json_builder_add_boolean_value(builder, TRUE);
	json_builder_add_double_value(builder, 0.5);
	json_builder_end_array(builder);
	json_builder_end_object(builder);
	root = json_builder_get_root(builder);
	json_generator_set_root(generator, root);
	for (guint pretty = 0; pretty < 2; pretty++) {
		g_autofree gchar *text = NULL;
		g_autoptr(MoJson) ours = NULL;

		json_generator_set_pretty(generator, pretty);
		text = json_generator_to_data(generator, NULL);
		ours = value_ok(text, -1);
		assert_same_as_glib(ours, root);
	}
}

/* Random damage to a valid document: never a crash; what is accepted round-trips. */
static void
test_mutations(void **state)
{
	const gchar *seed = "{\"refresh_token\":\"r\\u00e9\\ud83d\\ude00\",\"expiry\":\"1\","
			    "\"n\":-1.5e3,\"a\":[true,false,null,{\"b\":[]}]}";
	g_autoptr(GRand) rand = g_rand_new_with_seed(8259);
	const gchar bytes[] = "{}[]:,\"\\u0123456789eE+-.tfn \x80\xc3\xed\xf4\xff";

	for (guint i = 0; i < 20000; i++) {
		g_autofree gchar *doc = g_strdup(seed);
		gsize len = strlen(doc);
		g_autoptr(MoJson) value = NULL;

		for (guint j = 0; j < 1 + i % 3; j++)
			doc[g_rand_int_range(rand, 0, len)] =
				bytes[g_rand_int_range(rand, 0, sizeof(bytes) - 1)];
		value = mo_json_parse(doc, len, NULL);
		if (value != NULL)
			assert_round_trip(value);
	}
}

/* --- helpers for our documents --- */

static MoJson *
parse_ok(const gchar *json)
{
	g_autoptr(GError) error = NULL;
	MoJson *obj = mo_json_parse_object(json, -1, WHAT, &error);

	mo_assert_no_error(error);
	assert_non_null(obj);
	return obj;
}

static void
assert_parse_fails(const gchar *json, gssize len, const gchar *expected_in_message)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(MoJson) obj = mo_json_parse_object(json, len, WHAT, &error);

	assert_null(obj);
	mo_assert_error(error, MO_ERROR, MO_ERROR_INVALID_DATA);
	mo_assert_str_contains(error->message, WHAT);
	mo_assert_str_contains(error->message, expected_in_message);
}

static void
test_parse_object(void **state)
{
	g_autoptr(MoJson) obj = parse_ok("  {\"a\": \"b\"}\n");

	assert_string_equal(mo_json_get_string_value(mo_json_object_get(obj, "a")), "b");
	assert_parse_fails("", -1, "empty");
	assert_parse_fails(NULL, -1, "empty");
	assert_parse_fails("{", -1, "not valid JSON");
	assert_parse_fails("{", -1, "byte offset 1");
	assert_parse_fails("[]", -1, "not a JSON object");
	assert_parse_fails("\"x\"", -1, "not a JSON object");
	assert_parse_fails("   ", -1, "not");
	assert_parse_fails("{\"a\":1,\"a\":2}", -1, "Duplicate");
}

static void
test_parse_size_limit(void **state)
{
	g_autofree gchar *big = g_strnfill(MO_JSON_MAX_SIZE + 1, ' ');
	g_autoptr(MoJson) obj = NULL;

	/* the length is checked before any parsing */
	big[0] = '{';
	big[MO_JSON_MAX_SIZE] = '}';
	assert_parse_fails(big, -1, "too large");
	big[MO_JSON_MAX_SIZE - 1] = '}';
	big[MO_JSON_MAX_SIZE] = '\0';
	obj = parse_ok(big);
	assert_int_equal(mo_json_object_size(obj), 0);
}

static void
test_get_string(void **state)
{
	g_autoptr(MoJson) obj =
		parse_ok("{\"s\":\"v\",\"n\":null,\"i\":1,\"o\":{},\"a\":[],\"b\":true,"
			 "\"nul\":\"ab\\u0000cd\"}");
	const gchar *bad[] = {"i", "o", "a", "b", "nul"};
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
	g_autoptr(MoJson) obj =
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

/* Whole numbers in every form a JSON number may take, exactly (no rounding via doubles). */
static void
test_get_int64_number_forms(void **state)
{
	const struct {
		const gchar *text;
		gint64 value;
	} good[] = {
		{"0", 0},
		{"-0", 0},
		{"-0.0", 0},
		{"0e999999999999999999999", 0},
		{"1.0", 1},
		{"1E2", 100},
		{"1e+2", 100},
		{"2.50e1", 25},
		{"100e-2", 1},
		{"0.000001e6", 1},
		{"10000000000000000000e-1", G_GINT64_CONSTANT(1000000000000000000)},
		{"9223372036854775807", G_MAXINT64},
		{"9223372036854775807.000", G_MAXINT64},
		{"9.223372036854775807e18", G_MAXINT64},
		{"9007199254740993", G_GINT64_CONSTANT(9007199254740993)},
		{"9007199254740993.0", G_GINT64_CONSTANT(9007199254740993)},
	};

	for (guint i = 0; i < G_N_ELEMENTS(good); i++) {
		g_autofree gchar *doc = g_strdup_printf("{\"n\":%s}", good[i].text);
		g_autoptr(MoJson) obj = parse_ok(doc);
		g_autoptr(GError) error = NULL;
		gint64 v = -1;

		if (!mo_json_get_int64(obj, "n", &v, WHAT, &error))
			fail_msg("%s refused: %s", good[i].text, error->message);
		mo_assert_int64_equal(v, good[i].value);
	}
}

static void
test_get_int64_refused(void **state)
{
	g_autoptr(MoJson) obj =
		parse_ok("{\"a\":\"x\",\"b\":\"1x\",\"c\":\"+1\",\"d\":\"9223372036854775808\","
			 "\"e\":1e300,\"f\":true,\"g\":[1],\"h\":{},\"i\":\"\",\"j\":\" 1\","
			 "\"k\":-1,\"l\":9223372036854775808,\"m\":1e400,\"n\":1e-400,"
			 "\"o\":9.223372036854775808e18,\"p\":1.05e1,\"q\":-1e3,\"r\":\"-1\","
			 "\"s\":\"1\\u0000\",\"t\":1e-999999999999999999999,\"u\":0.5,"
			 "\"v\":123456789012345678901234567890}");
	const gchar *bad[] = {"a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k",
			      "l", "m", "n", "o", "p", "q", "r", "s", "t", "u", "v"};

	for (guint i = 0; i < G_N_ELEMENTS(bad); i++) {
		g_autoptr(GError) error = NULL;
		gint64 v = -1;

		if (mo_json_get_int64(obj, bad[i], &v, WHAT, &error))
			fail_msg("member %s accepted as %" G_GINT64_FORMAT, bad[i], v);
		mo_assert_error(error, MO_ERROR, MO_ERROR_INVALID_DATA);
		mo_assert_str_contains(error->message, bad[i]);
		mo_assert_int64_equal(v, 0);
	}
}

/* Regression: "a whole number" accepts fractions and truncates them. */
static void
test_get_int64_refuses_fractions(void **state)
{
	g_autoptr(MoJson) obj = parse_ok("{\"f\":1.5}");
	g_autoptr(GError) error = NULL;
	gint64 v = -1;

	if (mo_json_get_int64(obj, "f", &v, WHAT, &error))
		fail_msg("1.5 accepted as %" G_GINT64_FORMAT, v);
	mo_assert_error(error, MO_ERROR, MO_ERROR_INVALID_DATA);
}

static void
test_set_and_serialize(void **state)
{
	g_autoptr(MoJson) obj = mo_json_new_object();
	g_autoptr(MoJson) back = NULL;
	g_autofree gchar *compact = NULL;
	g_autofree gchar *pretty = NULL;
	gint64 big = 0;

	mo_json_set_string(obj, "s", "v");
	mo_json_set_string(obj, "gone", "x");
	mo_json_set_string(obj, "gone", NULL);
	mo_json_set_string(obj, "never", NULL);
	mo_json_set_int64(obj, "big", G_GINT64_CONSTANT(9000000000));
	compact = mo_json_to_string(obj, FALSE);
	assert_string_equal(compact, "{\"s\":\"v\",\"big\":9000000000}");
	pretty = mo_json_to_string(obj, TRUE);
	assert_string_equal(pretty, "{\n  \"s\": \"v\",\n  \"big\": 9000000000\n}");
	back = parse_ok(pretty);
	assert_string_equal(mo_json_get_string_value(mo_json_object_get(back, "s")), "v");
	assert_true(mo_json_get_int64(back, "big", &big, WHAT, NULL));
	mo_assert_int64_equal(big, G_GINT64_CONSTANT(9000000000));
}

static void
test_check_version(void **state)
{
	g_autoptr(MoJson) none = parse_ok("{}");
	g_autoptr(MoJson) one = parse_ok("{\"version\":1}");
	g_autoptr(MoJson) one_str = parse_ok("{\"version\":\"1\"}");
	g_autoptr(MoJson) three = parse_ok("{\"version\":3}");
	g_autoptr(MoJson) junk = parse_ok("{\"version\":\"v1\"}");
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
		cmocka_unit_test(test_valid_inputs),
		cmocka_unit_test(test_invalid_inputs),
		cmocka_unit_test(test_error_does_not_quote_input),
		cmocka_unit_test(test_parse_size_limit_value),
		cmocka_unit_test(test_depth_limit),
		cmocka_unit_test(test_many_members),
		cmocka_unit_test(test_numbers_keep_text),
		cmocka_unit_test(test_pretty_layout),
		cmocka_unit_test(test_serialize_escapes),
		cmocka_unit_test(test_member_order_and_set_in_place),
		cmocka_unit_test(test_build_values),
		cmocka_unit_test(test_glib_reads_ours),
		cmocka_unit_test(test_we_read_glib),
		cmocka_unit_test(test_mutations),
		/* helpers for our documents */
		cmocka_unit_test(test_parse_object),
		cmocka_unit_test(test_parse_size_limit),
		cmocka_unit_test(test_get_string),
		cmocka_unit_test(test_get_int64),
		cmocka_unit_test(test_get_int64_number_forms),
		cmocka_unit_test(test_get_int64_refused),
		cmocka_unit_test(test_get_int64_refuses_fractions),
		cmocka_unit_test(test_set_and_serialize),
		cmocka_unit_test(test_check_version),
	};

	mo_test_init();
	cmocka_set_message_output(CM_OUTPUT_TAP);
	return cmocka_run_group_tests_name("unit/json", tests, NULL, NULL);
}
