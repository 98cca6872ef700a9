/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "mo-error.h"
#include "mo-json.h"
#include "mo-test.h"
#include "mo-token.h"

#define TEST_PATH "/etc/sasl-tokens/me@example.com"
/* 2100-01-01T00:00:00Z: past 2038, so a 32-bit time_t or int would break */
#define TEST_EXPIRY_2100 G_GINT64_CONSTANT(4102444800)
#define TEST_EXPIRY_BIG	 G_GINT64_CONSTANT(9000000000)
#define TEST_NOW	 G_GINT64_CONSTANT(1700000000)

/* Parses @json as a token file that must be accepted. */
static MoTokenFile *
parse_ok(const gchar *json)
{
	g_autoptr(GError) error = NULL;
	MoTokenFile *file = mo_token_file_parse(json, -1, TEST_PATH, &error);

	mo_assert_no_error(error);
	assert_non_null(file);
	return file;
}

/* Parses @json as a token file that must be refused with a message naming the file. */
static void
assert_parse_fails(const gchar *json, gssize len, const gchar *expected_in_message)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(MoTokenFile) file = mo_token_file_parse(json, len, TEST_PATH, &error);

	if (file != NULL)
		fail_msg("token file %s was accepted", json);
	mo_assert_error(error, MO_ERROR, MO_ERROR_INVALID_DATA);
	mo_assert_str_contains(error->message, TEST_PATH);
	if (expected_in_message != NULL)
		mo_assert_str_contains(error->message, expected_in_message);
}

static MoToken *
token_new(const gchar *access, const gchar *refresh, const gchar *scope, gint64 expiry)
{
	MoToken *token = mo_token_new();

	token->access_token = g_strdup(access);
	token->refresh_token = g_strdup(refresh);
	token->scope = g_strdup(scope);
	token->expiry = expiry;
	return token;
}

/* --- account (keyring item) JSON --- */

static void
test_account_round_trip(void **state)
{
	g_autoptr(MoAccount) account = mo_account_new("me@example.com");
	g_autoptr(MoAccount) copy = NULL;
	g_autoptr(MoJson) obj = NULL;
	g_autoptr(GError) error = NULL;
	g_autofree gchar *json = NULL;

	account->user = g_strdup("login@example.com");
	account->app = g_strdup("work");
	account->token->access_token = g_strdup("access-1");
	account->token->refresh_token = g_strdup("refresh+/=1");
	account->token->scope = g_strdup("https://mail.google.com/");
	account->token->expiry = TEST_EXPIRY_BIG;
	account->token->last_refresh = TEST_NOW;

	json = mo_account_to_json(account);
	obj = mo_json_parse_object(json, -1, "test", &error);
	mo_assert_no_error(error);
	assert_string_equal(mo_json_get_number_text(mo_json_object_get(obj, "version")), "1");

	copy = mo_account_from_json(json, "me@example.com", &error);
	mo_assert_no_error(error);
	assert_non_null(copy);
	assert_string_equal(copy->name, "me@example.com");
	assert_string_equal(copy->user, "login@example.com");
	assert_string_equal(copy->app, "work");
	assert_string_equal(copy->token->access_token, "access-1");
	assert_string_equal(copy->token->refresh_token, "refresh+/=1");
	assert_string_equal(copy->token->scope, "https://mail.google.com/");
	mo_assert_int64_equal(copy->token->expiry, TEST_EXPIRY_BIG);
	mo_assert_int64_equal(copy->token->last_refresh, TEST_NOW);
}

static void
test_account_user_defaults_to_name(void **state)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(MoAccount) account =
		mo_account_from_json("{\"version\":1,\"refresh_token\":\"r\"}",
				     "me@example.com",
				     &error);

	mo_assert_no_error(error);
	assert_non_null(account);
	assert_string_equal(account->user, "me@example.com");
	assert_null(account->app);
	assert_null(account->token->access_token);
	mo_assert_int64_equal(account->token->expiry, 0);
	mo_assert_int64_equal(account->token->last_refresh, 0);
}

static void
test_account_expiry_as_string(void **state)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(MoAccount) account =
		mo_account_from_json("{\"version\":1,\"expiry\":\"4102444800\"}", "a", &error);

	mo_assert_no_error(error);
	assert_non_null(account);
	mo_assert_int64_equal(account->token->expiry, TEST_EXPIRY_2100);
}

static void
test_account_newer_version_refused(void **state)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(MoAccount) account =
		mo_account_from_json("{\"version\":2,\"refresh_token\":\"r\"}",
				     "me@example.com",
				     &error);

	assert_null(account);
	mo_assert_error(error, MO_ERROR, MO_ERROR_INVALID_DATA);
	mo_assert_str_contains(error->message, "me@example.com");
	mo_assert_str_contains(error->message, "version 2");
	mo_assert_str_contains(error->message, "upgrade");
}

static void
test_account_bad_documents(void **state)
{
	const gchar *bad[] = {
		"",
		"{",
		"[1]",
		"{\"version\":\"one\"}",
		"{\"version\":1,\"access_token\":5}",
		"{\"version\":1,\"expiry\":\"soon\"}",
		"{\"version\":1,\"user\":[\"x\"]}",
	};

	for (guint i = 0; i < G_N_ELEMENTS(bad); i++) {
		g_autoptr(GError) error = NULL;
		g_autoptr(MoAccount) account = mo_account_from_json(bad[i], "acc@x", &error);

		if (account != NULL)
			fail_msg("accepted account JSON %s", bad[i]);
		mo_assert_error(error, MO_ERROR, MO_ERROR_INVALID_DATA);
		mo_assert_str_contains(error->message, "acc@x");
	}
}

/* An item another program wrote (or a broken one) is refused with the account's name and the
 * key, not printed or sent as it is. */
static void
test_account_unusable_values_rejected(void **state)
{
	const struct {
		const gchar *json;
		const gchar *key;
	} bad[] = {
		{"{\"version\":1,\"access_token\":\"at-34\\r\\nX-Injected: 1\"}", "access_token"},
		{"{\"version\":1,\"refresh_token\":\"rt\\u001b[2J\"}", "refresh_token"},
		{"{\"version\":1,\"refresh_token\":\"rt\\u00ff\"}", "refresh_token"},
		{"{\"version\":1,\"expiry\":9223372036854775807}", "expiry"},
		{"{\"version\":1,\"expiry\":\"253402300800\"}", "expiry"},
		{"{\"version\":1,\"last_refresh\":9223372036854775807}", "last_refresh"},
	};

	for (guint i = 0; i < G_N_ELEMENTS(bad); i++) {
		g_autoptr(GError) error = NULL;
		g_autoptr(MoAccount) account = mo_account_from_json(bad[i].json, "acc@x", &error);

		if (account != NULL)
			fail_msg("accepted account JSON %s", bad[i].json);
		mo_assert_error(error, MO_ERROR, MO_ERROR_INVALID_DATA);
		mo_assert_str_contains(error->message, "acc@x");
		mo_assert_str_contains(error->message, bad[i].key);
		mo_assert_str_lacks(error->message, "at-34");
	}
}

static void
test_account_last_refresh_omitted_when_never(void **state)
{
	g_autoptr(MoAccount) account = mo_account_new("a");
	g_autofree gchar *json = NULL;

	account->token->refresh_token = g_strdup("r");
	json = mo_account_to_json(account);
	mo_assert_str_lacks(json, "last_refresh");
	/* optional strings are left out, not written as null */
	mo_assert_str_lacks(json, "null");
}

static void
test_account_name_validation(void **state)
{
	g_autofree gchar *longest = g_strnfill(254, 'a');
	g_autofree gchar *too_long = g_strnfill(255, 'a');
	const gchar *good[] = {"me@example.com", "a+b@example.org", "user_1", "a.b", longest};
	const gchar *bad[] = {"",
			      "-me@example.com",
			      ".hidden",
			      "a b",
			      "a/b",
			      "a\\b",
			      "../x",
			      "a\tb",
			      "a\nb",
			      "a\x7f",
			      "\xff\xfe",
			      too_long};

	for (guint i = 0; i < G_N_ELEMENTS(good); i++) {
		g_autoptr(GError) error = NULL;
		if (!mo_account_name_is_valid(good[i], &error))
			fail_msg("refused account name %s: %s", good[i], error->message);
	}
	for (guint i = 0; i < G_N_ELEMENTS(bad); i++) {
		g_autoptr(GError) error = NULL;
		if (mo_account_name_is_valid(bad[i], &error))
			fail_msg("accepted account name %s", bad[i]);
		mo_assert_error(error, MO_ERROR, MO_ERROR_INVALID_ARGUMENT);
	}
	assert_false(mo_account_name_is_valid(NULL, NULL));
}

/* Regression: the message promises "letters, digits and . _ @ + -", but the check
 * only refuses whitespace, controls, slashes and a leading - or ., so names with shell
 * metacharacters pass, and they end up in PassCmd lines and suggested commands. */
static void
test_account_name_charset(void **state)
{
	const gchar *bad[] = {"a;b", "a'b", "a\"b", "a$b", "a`b", "a|b", "a*b", "a&b", "a<b"};

	for (guint i = 0; i < G_N_ELEMENTS(bad); i++) {
		g_autoptr(GError) error = NULL;
		if (mo_account_name_is_valid(bad[i], &error))
			fail_msg("accepted account name %s", bad[i]);
		mo_assert_error(error, MO_ERROR, MO_ERROR_INVALID_ARGUMENT);
	}
}

/* --- token files (sasl-xoauth2 format) --- */

static void
test_file_expiry_as_string(void **state)
{
	g_autoptr(MoTokenFile) file = parse_ok("{\"refresh_token\":\"r\",\"access_token\":\"a\","
					       "\"expiry\":\"4102444800\"}");

	mo_assert_int64_equal(file->token->expiry, TEST_EXPIRY_2100);
	assert_string_equal(file->token->refresh_token, "r");
	assert_string_equal(file->token->access_token, "a");
}

static void
test_file_expiry_as_number(void **state)
{
	g_autoptr(MoTokenFile) file = parse_ok("{\"refresh_token\":\"r\",\"expiry\":9000000000}");
	g_autoptr(MoTokenFile) file2 = parse_ok("{\"refresh_token\":\"r\",\"expiry\":4102444800}");

	mo_assert_int64_equal(file->token->expiry, TEST_EXPIRY_BIG);
	mo_assert_int64_equal(file2->token->expiry, TEST_EXPIRY_2100);
}

static void
test_file_expiry_absent_or_null(void **state)
{
	g_autoptr(MoTokenFile) file = parse_ok("{\"refresh_token\":\"r\"}");
	g_autoptr(MoTokenFile) file2 = parse_ok("{\"refresh_token\":\"r\",\"expiry\":null}");

	mo_assert_int64_equal(file->token->expiry, 0);
	mo_assert_int64_equal(file2->token->expiry, 0);
	assert_null(file->token->access_token);
}

static void
test_file_optional_fields(void **state)
{
	g_autoptr(MoTokenFile) file = parse_ok(
		"{\"refresh_token\":\"r\",\"user\":\"me@example.com\",\"client_id\":\"cid\","
		"\"client_secret\":\"s3cr+t\",\"token_endpoint\":\"https://example.com/token\"}");

	assert_string_equal(file->user, "me@example.com");
	assert_string_equal(file->client_id, "cid");
	assert_string_equal(file->client_secret, "s3cr+t");
	assert_string_equal(file->token_endpoint, "https://example.com/token");
}

static void
test_file_garbage_expiry_rejected(void **state)
{
	const gchar *bad[] = {
		"{\"refresh_token\":\"r\",\"expiry\":\"soon\"}",
		"{\"refresh_token\":\"r\",\"expiry\":\"12abc\"}",
		"{\"refresh_token\":\"r\",\"expiry\":\"\"}",
		"{\"refresh_token\":\"r\",\"expiry\":\" 12\"}",
		"{\"refresh_token\":\"r\",\"expiry\":\"0x10\"}",
		"{\"refresh_token\":\"r\",\"expiry\":\"99999999999999999999\"}",
		"{\"refresh_token\":\"r\",\"expiry\":true}",
		"{\"refresh_token\":\"r\",\"expiry\":[1]}",
		"{\"refresh_token\":\"r\",\"expiry\":{\"s\":1}}",
	};

	for (guint i = 0; i < G_N_ELEMENTS(bad); i++)
		assert_parse_fails(bad[i], -1, "expiry");
}

/* Regression: mo_json_get_int64() accepts negative numbers, so a token file with a
 * negative expiry is taken as "expiry unknown" instead of being refused. */
static void
test_file_negative_expiry_rejected(void **state)
{
	assert_parse_fails("{\"refresh_token\":\"r\",\"expiry\":\"-1\"}", -1, "expiry");
	assert_parse_fails("{\"refresh_token\":\"r\",\"expiry\":-1}", -1, "expiry");
	assert_parse_fails("{\"refresh_token\":\"r\",\"expiry\":\"-4102444800\"}", -1, "expiry");
}

/* A token file is written by hand or by other tools: a token with control characters in it
 * would be printed by "mailoauth token" and sent in SASL messages as it is. */
static void
test_file_control_characters_rejected(void **state)
{
	assert_parse_fails("{\"refresh_token\":\"r\",\"access_token\":\"at\\r\\nX: 1\"}",
			   -1,
			   "access_token");
	assert_parse_fails("{\"refresh_token\":\"r\\u001b]0;t\\u0007\"}", -1, "refresh_token");
	assert_parse_fails("{\"refresh_token\":\"r\\u007f\"}", -1, "refresh_token");
	assert_parse_fails("{\"refresh_token\":\"r-é\"}", -1, "refresh_token");
}

/* A time after the year 9999 is no expiry ("valid until ?"), but a broken file. */
static void
test_file_unreasonable_expiry_rejected(void **state)
{
	g_autoptr(MoTokenFile) last = NULL;

	assert_parse_fails("{\"refresh_token\":\"r\",\"expiry\":\"9223372036854775807\"}",
			   -1,
			   "expiry");
	assert_parse_fails("{\"refresh_token\":\"r\",\"expiry\":9223372036854775807}",
			   -1,
			   "expiry");
	assert_parse_fails("{\"refresh_token\":\"r\",\"expiry\":253402300800}", -1, "expiry");
	/* the last second of 9999 is still a time */
	last = parse_ok("{\"refresh_token\":\"r\",\"expiry\":253402300799}");
	mo_assert_int64_equal(last->token->expiry, G_GINT64_CONSTANT(253402300799));
}

static void
test_file_wrong_types_rejected(void **state)
{
	assert_parse_fails("{\"refresh_token\":5}", -1, "refresh_token");
	assert_parse_fails("{\"refresh_token\":\"r\",\"access_token\":[]}", -1, "access_token");
	assert_parse_fails("{\"refresh_token\":\"r\",\"user\":1}", -1, "user");
	assert_parse_fails("{\"refresh_token\":\"r\",\"client_secret\":{}}", -1, "client_secret");
}

static void
test_file_missing_refresh_token(void **state)
{
	assert_parse_fails("{\"access_token\":\"a\",\"expiry\":\"4102444800\"}",
			   -1,
			   "refresh_token");
	assert_parse_fails("{\"refresh_token\":\"\"}", -1, "refresh_token");
	assert_parse_fails("{\"refresh_token\":null}", -1, "refresh_token");
	assert_parse_fails("{}", -1, "refresh_token");
}

static void
test_file_bad_json(void **state)
{
	assert_parse_fails("{\"refresh_token\":\"r\"", -1, "not valid JSON");
	assert_parse_fails("refresh_token=r", -1, "not valid JSON");
	assert_parse_fails("[{\"refresh_token\":\"r\"}]", -1, "not a JSON object");
	assert_parse_fails("\"refresh_token\"", -1, "not a JSON object");
	assert_parse_fails("42", -1, "not a JSON object");
	assert_parse_fails("null", -1, "not a JSON object");
	assert_parse_fails("", -1, "empty");
	assert_parse_fails("", 0, "empty");
	/* an explicit length of 0 wins over the text */
	assert_parse_fails("{\"refresh_token\":\"r\"}", 0, "empty");
}

/* A valid token file of exactly @size bytes, padded with an unknown key. */
static gchar *
file_of_size(gsize size)
{
	const gchar *head = "{\"refresh_token\":\"r\",\"pad\":\"";
	const gchar *tail = "\"}";
	gsize pad = size - strlen(head) - strlen(tail);
	g_autofree gchar *padding = g_strnfill(pad, 'x');

	return g_strconcat(head, padding, tail, NULL);
}

static void
test_file_size_limit(void **state)
{
	g_autofree gchar *at_limit = file_of_size(MO_JSON_MAX_SIZE);
	g_autofree gchar *over_limit = file_of_size(MO_JSON_MAX_SIZE + 1);
	g_autoptr(MoTokenFile) file = NULL;

	assert_int_equal(strlen(at_limit), MO_JSON_MAX_SIZE);
	file = parse_ok(at_limit);
	assert_string_equal(file->token->refresh_token, "r");
	assert_parse_fails(over_limit, -1, "too large");
}

static void
test_file_length_is_honoured(void **state)
{
	const gchar *json = "{\"refresh_token\":\"r\"}trailing garbage";
	g_autoptr(GError) error = NULL;
	g_autoptr(MoTokenFile) file =
		mo_token_file_parse(json, strlen("{\"refresh_token\":\"r\"}"), TEST_PATH, &error);

	mo_assert_no_error(error);
	assert_non_null(file);
	assert_parse_fails(json, -1, "not valid JSON");
}

/* Keys we do not know survive a rewrite, and so do the order of the keys and the text of the
 * numbers: the file keeps its layout, and a diff shows only what changed. */
static void
test_file_serialize_keeps_unknown_keys(void **state)
{
	g_autoptr(MoTokenFile) file = parse_ok(
		"{\"refresh_token\":\"old-r\",\"access_token\":\"old-a\",\"expiry\":\"100\","
		"\"user\":\"me@example.com\",\"client_id\":\"cid\",\"client_secret\":\"cs\","
		"\"token_endpoint\":\"https://example.com/token\",\"proxy\":\"http://p:3128\","
		"\"refresh_window\":30,\"ca_bundle_file\":\"/etc/ssl/x.pem\",\"x-float\":1.50E+1,"
		"\"x-extra\":{\"list\":[1,\"two\",null]}}");
	g_autoptr(MoToken) response = token_new("new-a", "new-r", NULL, TEST_EXPIRY_BIG);
	g_autofree gchar *out = NULL;

	mo_token_merge_refresh(file->token, response, TEST_NOW);
	out = mo_token_file_serialize(file);
	/* sasl-xoauth2 reads expiry as a decimal string */
	assert_string_equal(out,
			    "{\n"
			    "  \"refresh_token\": \"new-r\",\n"
			    "  \"access_token\": \"new-a\",\n"
			    "  \"expiry\": \"9000000000\",\n"
			    "  \"user\": \"me@example.com\",\n"
			    "  \"client_id\": \"cid\",\n"
			    "  \"client_secret\": \"cs\",\n"
			    "  \"token_endpoint\": \"https://example.com/token\",\n"
			    "  \"proxy\": \"http://p:3128\",\n"
			    "  \"refresh_window\": 30,\n"
			    "  \"ca_bundle_file\": \"/etc/ssl/x.pem\",\n"
			    "  \"x-float\": 1.50E+1,\n"
			    "  \"x-extra\": {\n"
			    "    \"list\": [\n"
			    "      1,\n"
			    "      \"two\",\n"
			    "      null\n"
			    "    ]\n"
			    "  }\n"
			    "}");
}

/* An expiry written as a number is rewritten as a string, in the same place. */
static void
test_file_serialize_expiry_in_place(void **state)
{
	g_autoptr(MoTokenFile) file =
		parse_ok("{\"expiry\":4102444800,\"refresh_token\":\"r\",\"x\":null}");
	g_autofree gchar *out = mo_token_file_serialize(file);

	assert_string_equal(out,
			    "{\n"
			    "  \"expiry\": \"4102444800\",\n"
			    "  \"refresh_token\": \"r\",\n"
			    "  \"x\": null\n"
			    "}");
}

/* Strict parsing reaches token files: a duplicate key is refused, not silently resolved to
 * one of the two values (json-glib took the last one). */
static void
test_file_duplicate_key_refused(void **state)
{
	assert_parse_fails("{\"refresh_token\":\"a\",\"refresh_token\":\"b\"}",
			   -1,
			   "Duplicate member name");
	assert_parse_fails("{\"refresh_token\":\"r\\u0000x\"}", -1, "refresh_token");
}

static void
test_file_serialize_round_trip(void **state)
{
	g_autoptr(MoTokenFile) file =
		parse_ok("{\"refresh_token\":\"r\",\"access_token\":\"a\",\"expiry\":4102444800}");
	g_autoptr(MoTokenFile) again = NULL;
	g_autofree gchar *out = mo_token_file_serialize(file);

	mo_assert_str_contains(out, "\"4102444800\"");
	again = parse_ok(out);
	assert_string_equal(again->token->refresh_token, "r");
	assert_string_equal(again->token->access_token, "a");
	mo_assert_int64_equal(again->token->expiry, TEST_EXPIRY_2100);
	/* absent optional fields stay absent */
	mo_assert_str_lacks(out, "client_secret");
	mo_assert_str_lacks(out, "user");
}

/* --- freshness --- */

static void
test_fresh_margin_boundaries(void **state)
{
	g_autoptr(MoToken) token = token_new("a", "r", NULL, 0);
	const gint64 margin = MO_DEFAULT_REFRESH_MARGIN;

	token->expiry = TEST_NOW + margin;
	assert_false(mo_token_is_fresh(token, TEST_NOW, margin));
	token->expiry = TEST_NOW + margin + 1;
	assert_true(mo_token_is_fresh(token, TEST_NOW, margin));
	token->expiry = TEST_NOW + margin - 1;
	assert_false(mo_token_is_fresh(token, TEST_NOW, margin));
	token->expiry = TEST_NOW - 1;
	assert_false(mo_token_is_fresh(token, TEST_NOW, margin));

	/* margin 0: valid while any second is left */
	token->expiry = TEST_NOW + 1;
	assert_true(mo_token_is_fresh(token, TEST_NOW, 0));
	token->expiry = TEST_NOW;
	assert_false(mo_token_is_fresh(token, TEST_NOW, 0));
}

static void
test_fresh_beyond_2038(void **state)
{
	g_autoptr(MoToken) token = token_new("a", "r", NULL, TEST_EXPIRY_2100 + 3600);

	assert_true(mo_token_is_fresh(token, TEST_EXPIRY_2100, 600));
	mo_assert_int64_equal(mo_token_seconds_left(token, TEST_EXPIRY_2100), 3600);
	token->expiry = TEST_EXPIRY_2100 + 600;
	assert_false(mo_token_is_fresh(token, TEST_EXPIRY_2100, 600));
}

static void
test_fresh_unknown_expiry_is_stale(void **state)
{
	g_autoptr(MoToken) token = token_new("a", "r", NULL, 0);

	assert_false(mo_token_is_fresh(token, TEST_NOW, 0));
	mo_assert_int64_equal(mo_token_seconds_left(token, TEST_NOW), 0);
	token->expiry = -5;
	assert_false(mo_token_is_fresh(token, TEST_NOW, 0));
	mo_assert_int64_equal(mo_token_seconds_left(token, TEST_NOW), 0);
}

static void
test_fresh_needs_access_token(void **state)
{
	g_autoptr(MoToken) token = token_new(NULL, "r", NULL, TEST_EXPIRY_BIG);

	assert_false(mo_token_is_fresh(token, TEST_NOW, 600));
	token->access_token = g_strdup("");
	assert_false(mo_token_is_fresh(token, TEST_NOW, 600));
	g_free(token->access_token);
	token->access_token = g_strdup("a");
	assert_true(mo_token_is_fresh(token, TEST_NOW, 600));
}

/* --- merging a refresh response --- */

static void
test_merge_keeps_old_refresh_token(void **state)
{
	g_autoptr(MoToken) token = token_new("old-a", "old-r", "scope-1", TEST_NOW);
	g_autoptr(MoToken) response = token_new("new-a", NULL, NULL, TEST_NOW + 3600);
	g_autoptr(MoToken) response_empty = token_new("newer-a", "", NULL, TEST_NOW + 7200);

	mo_token_merge_refresh(token, response, TEST_NOW + 5);
	assert_string_equal(token->access_token, "new-a");
	assert_string_equal(token->refresh_token, "old-r");
	assert_string_equal(token->scope, "scope-1");
	mo_assert_int64_equal(token->expiry, TEST_NOW + 3600);
	mo_assert_int64_equal(token->last_refresh, TEST_NOW + 5);

	mo_token_merge_refresh(token, response_empty, TEST_NOW + 6);
	assert_string_equal(token->access_token, "newer-a");
	assert_string_equal(token->refresh_token, "old-r");
	mo_assert_int64_equal(token->expiry, TEST_NOW + 7200);
}

static void
test_merge_takes_rotated_refresh_token(void **state)
{
	g_autoptr(MoToken) token = token_new("old-a", "old-r", "scope-1", TEST_NOW);
	g_autoptr(MoToken) response = token_new("new-a", "new-r", "scope-2", TEST_EXPIRY_BIG);

	mo_token_merge_refresh(token, response, TEST_NOW);
	assert_string_equal(token->access_token, "new-a");
	assert_string_equal(token->refresh_token, "new-r");
	assert_string_equal(token->scope, "scope-2");
	mo_assert_int64_equal(token->expiry, TEST_EXPIRY_BIG);
	/* a deep copy: the response can go */
	assert_ptr_not_equal(token->refresh_token, response->refresh_token);
}

static void
test_copy_is_deep(void **state)
{
	g_autoptr(MoToken) token = token_new("a", "r", "s", TEST_EXPIRY_BIG);
	g_autoptr(MoToken) copy = NULL;

	token->last_refresh = TEST_NOW;
	copy = mo_token_copy(token);
	assert_ptr_not_equal(copy->access_token, token->access_token);
	assert_string_equal(copy->access_token, "a");
	assert_string_equal(copy->refresh_token, "r");
	assert_string_equal(copy->scope, "s");
	mo_assert_int64_equal(copy->expiry, TEST_EXPIRY_BIG);
	mo_assert_int64_equal(copy->last_refresh, TEST_NOW);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_account_round_trip),
		cmocka_unit_test(test_account_user_defaults_to_name),
		cmocka_unit_test(test_account_expiry_as_string),
		cmocka_unit_test(test_account_newer_version_refused),
		cmocka_unit_test(test_account_bad_documents),
		cmocka_unit_test(test_account_last_refresh_omitted_when_never),
		cmocka_unit_test(test_account_name_validation),
		cmocka_unit_test(test_file_expiry_as_string),
		cmocka_unit_test(test_file_expiry_as_number),
		cmocka_unit_test(test_file_expiry_absent_or_null),
		cmocka_unit_test(test_file_optional_fields),
		cmocka_unit_test(test_file_garbage_expiry_rejected),
		cmocka_unit_test(test_file_wrong_types_rejected),
		cmocka_unit_test(test_file_control_characters_rejected),
		cmocka_unit_test(test_file_unreasonable_expiry_rejected),
		cmocka_unit_test(test_account_unusable_values_rejected),
		cmocka_unit_test(test_file_missing_refresh_token),
		cmocka_unit_test(test_file_bad_json),
		cmocka_unit_test(test_file_size_limit),
		cmocka_unit_test(test_file_length_is_honoured),
		cmocka_unit_test(test_file_serialize_keeps_unknown_keys),
		cmocka_unit_test(test_file_serialize_round_trip),
		cmocka_unit_test(test_file_serialize_expiry_in_place),
		cmocka_unit_test(test_file_duplicate_key_refused),
		cmocka_unit_test(test_fresh_margin_boundaries),
		cmocka_unit_test(test_fresh_beyond_2038),
		cmocka_unit_test(test_fresh_unknown_expiry_is_stale),
		cmocka_unit_test(test_fresh_needs_access_token),
		cmocka_unit_test(test_merge_keeps_old_refresh_token),
		cmocka_unit_test(test_merge_takes_rotated_refresh_token),
		cmocka_unit_test(test_copy_is_deep),
		cmocka_unit_test(test_file_negative_expiry_rejected),
		cmocka_unit_test(test_account_name_charset),
	};

	mo_test_init();
	cmocka_set_message_output(CM_OUTPUT_TAP);
	return cmocka_run_group_tests_name("unit/token", tests, NULL, NULL);
}
