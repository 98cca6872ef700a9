/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "mo-error.h"
#include "mo-oauth.h"
#include "mo-test-server.h"
#include "mo-test.h"

#define TEST_NOW G_GINT64_CONSTANT(1700000000)
#define AADSTS70008                                                                                \
	"AADSTS70008: The provided authorization code or refresh token has expired due to "        \
	"inactivity. Trace ID: 0000 Correlation ID: 1111 Timestamp: 2024-01-01 00:00:00Z"

static const MoHttpOptions test_http_options = {.connect_timeout = 2, .timeout = 5};

static MoToken *
parse(guint status, const gchar *body, GError **error)
{
	return mo_oauth_parse_token_response(status, body, strlen(body), TEST_NOW, error);
}

static MoToken *
parse_ok(const gchar *body)
{
	g_autoptr(GError) error = NULL;
	MoToken *token = parse(200, body, &error);

	mo_assert_no_error(error);
	assert_non_null(token);
	return token;
}

static void
assert_parse_fails(guint status, const gchar *body, GQuark domain, gint code)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(MoToken) token = parse(status, body, &error);

	if (token != NULL)
		fail_msg("HTTP %u %s gave a token", status, body);
	mo_assert_error(error, domain, code);
}

/* --- parsing --- */

static void
test_parse_good_response(void **state)
{
	g_autoptr(MoToken) token =
		parse_ok("{\"token_type\":\"Bearer\",\"scope\":\"https://outlook.office.com/"
			 "IMAP.AccessAsUser.All\",\"expires_in\":3599,\"ext_expires_in\":3599,"
			 "\"access_token\":\"eyJ0eXAi.x.y\",\"refresh_token\":\"0.AAAA-rotated\"}");

	assert_string_equal(token->access_token, "eyJ0eXAi.x.y");
	assert_string_equal(token->refresh_token, "0.AAAA-rotated");
	assert_string_equal(token->scope, "https://outlook.office.com/IMAP.AccessAsUser.All");
	mo_assert_int64_equal(token->expiry, TEST_NOW + 3599);
}

static void
test_parse_expires_in_as_string(void **state)
{
	g_autoptr(MoToken) token = parse_ok(
		"{\"access_token\":\"a\",\"token_type\":\"Bearer\",\"expires_in\":\"3599\"}");

	mo_assert_int64_equal(token->expiry, TEST_NOW + 3599);
}

static void
test_parse_missing_expires_in(void **state)
{
	g_autoptr(MoToken) absent = parse_ok("{\"access_token\":\"a\"}");
	g_autoptr(MoToken) null = parse_ok("{\"access_token\":\"a\",\"expires_in\":null}");
	g_autoptr(MoToken) zero = parse_ok("{\"access_token\":\"a\",\"expires_in\":0}");

	/* RFC 6749 makes it optional: an hour is assumed */
	mo_assert_int64_equal(absent->expiry, TEST_NOW + 3600);
	mo_assert_int64_equal(null->expiry, TEST_NOW + 3600);
	mo_assert_int64_equal(zero->expiry, TEST_NOW + 3600);
}

static void
test_parse_no_refresh_token(void **state)
{
	g_autoptr(MoToken) token = parse_ok("{\"access_token\":\"a\",\"expires_in\":60}");

	assert_null(token->refresh_token);
	assert_null(token->scope);
	mo_assert_int64_equal(token->expiry, TEST_NOW + 60);
}

static void
test_parse_length_is_honoured(void **state)
{
	const gchar *body = "{\"access_token\":\"a\"}<html>trailing";
	g_autoptr(GError) error = NULL;
	g_autoptr(MoToken) token = mo_oauth_parse_token_response(200,
								 body,
								 strlen("{\"access_token\":\"a\"}"),
								 TEST_NOW,
								 &error);

	mo_assert_no_error(error);
	assert_non_null(token);
	assert_string_equal(token->access_token, "a");
}

static void
test_parse_error_with_description(void **state)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(MoToken) token =
		parse(400,
		      "{\"error\":\"invalid_grant\",\"error_description\":\"" AADSTS70008
		      "\",\"error_codes\":[70008]}",
		      &error);

	assert_null(token);
	mo_assert_error(error, MO_OAUTH_ERROR, MO_OAUTH_ERROR_INVALID_GRANT);
	/* the provider's words verbatim: the AADSTS number is what users search for */
	mo_assert_str_contains(error->message, "invalid_grant");
	mo_assert_str_contains(error->message, AADSTS70008);
	mo_assert_str_contains(error->message, "400");
	assert_true(mo_error_needs_reauthorization(error));
}

static void
test_parse_error_codes(void **state)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(MoToken) token = parse(400, "{\"error\":\"invalid_request\"}", &error);

	assert_null(token);
	mo_assert_error(error, MO_OAUTH_ERROR, MO_OAUTH_ERROR_INVALID_REQUEST);
	mo_assert_str_contains(error->message, "invalid_request");
	assert_false(mo_error_needs_reauthorization(error));

	assert_parse_fails(401,
			   "{\"error\":\"invalid_client\",\"error_description\":\"AADSTS7000215\"}",
			   MO_OAUTH_ERROR,
			   MO_OAUTH_ERROR_INVALID_CLIENT);
	assert_parse_fails(400,
			   "{\"error\":\"invalid_scope\"}",
			   MO_OAUTH_ERROR,
			   MO_OAUTH_ERROR_INVALID_SCOPE);
	assert_parse_fails(400,
			   "{\"error\":\"interaction_required\"}",
			   MO_OAUTH_ERROR,
			   MO_OAUTH_ERROR_INTERACTION_REQUIRED);
	assert_parse_fails(403,
			   "{\"error\":\"access_denied\"}",
			   MO_OAUTH_ERROR,
			   MO_OAUTH_ERROR_ACCESS_DENIED);
}

static void
test_parse_unknown_error_code(void **state)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(MoToken) token = parse(400, "{\"error\":\"weird_thing\"}", &error);

	assert_null(token);
	mo_assert_error(error, MO_OAUTH_ERROR, MO_OAUTH_ERROR_OTHER);
	/* the unknown code is still shown */
	mo_assert_str_contains(error->message, "weird_thing");
}

static void
test_parse_transient_status(void **state)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(MoToken) token = parse(503, "Service Unavailable", &error);

	assert_null(token);
	mo_assert_error(error, MO_ERROR, MO_ERROR_TRANSIENT);
	mo_assert_str_contains(error->message, "503");

	/* the status decides, even when the body is an OAuth2 error */
	assert_parse_fails(503,
			   "{\"error\":\"temporarily_unavailable\"}",
			   MO_ERROR,
			   MO_ERROR_TRANSIENT);
	assert_parse_fails(500, "{\"error\":\"invalid_grant\"}", MO_ERROR, MO_ERROR_TRANSIENT);
	assert_parse_fails(429, "{\"error\":\"slow_down\"}", MO_ERROR, MO_ERROR_TRANSIENT);
	assert_parse_fails(408, "", MO_ERROR, MO_ERROR_TRANSIENT);
	assert_parse_fails(502, "<html>Bad gateway</html>", MO_ERROR, MO_ERROR_TRANSIENT);
}

static void
test_parse_non_oauth_error_status(void **state)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(MoToken) token = parse(404, "<html>Not Found</html>", &error);

	assert_null(token);
	mo_assert_error(error, MO_ERROR, MO_ERROR_PROTOCOL);
	mo_assert_str_contains(error->message, "404");

	assert_parse_fails(400, "", MO_ERROR, MO_ERROR_PROTOCOL);
	assert_parse_fails(400, "{\"message\":\"bad\"}", MO_ERROR, MO_ERROR_PROTOCOL);
	assert_parse_fails(400, "{\"error\":42}", MO_ERROR, MO_ERROR_PROTOCOL);
	assert_parse_fails(302, "", MO_ERROR, MO_ERROR_PROTOCOL);
}

static void
test_parse_200_garbage(void **state)
{
	assert_parse_fails(200, "<html>Sign in</html>", MO_ERROR, MO_ERROR_PROTOCOL);
	assert_parse_fails(200, "", MO_ERROR, MO_ERROR_PROTOCOL);
	assert_parse_fails(200, "[\"access_token\"]", MO_ERROR, MO_ERROR_PROTOCOL);
	assert_parse_fails(200, "access_token=a&expires_in=3600", MO_ERROR, MO_ERROR_PROTOCOL);
}

static void
test_parse_200_without_access_token(void **state)
{
	assert_parse_fails(200, "{}", MO_ERROR, MO_ERROR_PROTOCOL);
	assert_parse_fails(200,
			   "{\"refresh_token\":\"r\",\"expires_in\":3600}",
			   MO_ERROR,
			   MO_ERROR_PROTOCOL);
	assert_parse_fails(200, "{\"access_token\":\"\"}", MO_ERROR, MO_ERROR_PROTOCOL);
	assert_parse_fails(200, "{\"access_token\":null}", MO_ERROR, MO_ERROR_PROTOCOL);
}

static void
test_parse_200_with_error_member(void **state)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(MoToken) token =
		parse(200,
		      "{\"error\":\"invalid_grant\",\"error_description\":\"revoked\"}",
		      &error);

	assert_null(token);
	mo_assert_error(error, MO_OAUTH_ERROR, MO_OAUTH_ERROR_INVALID_GRANT);
	mo_assert_str_contains(error->message, "revoked");
	/* an error member wins over an access token in the same answer */
	assert_parse_fails(200,
			   "{\"access_token\":\"a\",\"error\":\"access_denied\"}",
			   MO_OAUTH_ERROR,
			   MO_OAUTH_ERROR_ACCESS_DENIED);
}

/* Regression: a token response with a member of the wrong type is classified
 * MO_ERROR_INVALID_DATA ("a stored item or a token file"), not MO_ERROR_PROTOCOL ("the
 * provider answered something we cannot use"). */
static void
test_parse_200_wrong_types_are_protocol_errors(void **state)
{
	assert_parse_fails(200, "{\"access_token\":42}", MO_ERROR, MO_ERROR_PROTOCOL);
	assert_parse_fails(200,
			   "{\"access_token\":\"a\",\"refresh_token\":{}}",
			   MO_ERROR,
			   MO_ERROR_PROTOCOL);
}

/* An odd expires_in (negative, fractional, text) is read as absent — an hour — rather than
 * refusing an answer that may carry a rotated refresh token. */
static void
test_parse_odd_expires_in_as_absent(void **state)
{
	const gchar *bodies[] = {
		"{\"access_token\":\"a\",\"refresh_token\":\"r\",\"expires_in\":-60}",
		"{\"access_token\":\"a\",\"refresh_token\":\"r\",\"expires_in\":3599.5}",
		"{\"access_token\":\"a\",\"refresh_token\":\"r\",\"expires_in\":\"soon\"}",
	};

	for (guint i = 0; i < G_N_ELEMENTS(bodies); i++) {
		g_autoptr(GError) error = NULL;
		g_autoptr(MoToken) token = parse(200, bodies[i], &error);

		mo_assert_no_error(error);
		assert_string_equal(token->refresh_token, "r");
		mo_assert_int64_equal(token->expiry, TEST_NOW + 3600);
	}
}

/* Regression: now + expires_in is not bounded; a huge expires_in overflows gint64
 * (undefined behaviour; in practice a negative expiry). */
static void
test_parse_huge_expires_in(void **state)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(MoToken) token =
		parse(200, "{\"access_token\":\"a\",\"expires_in\":9223372036854775807}", &error);

	/* refusing it or clamping it are both fine; wrapping around is not */
	if (token != NULL && token->expiry <= TEST_NOW)
		fail_msg("expiry wrapped around to %" G_GINT64_FORMAT, token->expiry);
}

/* RFC 6749 tokens are VSCHAR (0x20-0x7E): a token with CR/LF, escape sequences, DEL or
 * bytes of 0x80 and more would reach mbsync, the terminal and SASL messages as it is. */
static void
test_parse_control_characters_in_tokens(void **state)
{
	const gchar *bad[] = {
		"{\"access_token\":\"at-34\\r\\nX-Injected: 1\",\"refresh_token\":\"r\"}",
		"{\"access_token\":\"at\\u001b]0;owned\\u0007\",\"refresh_token\":\"r\"}",
		"{\"access_token\":\"at\\u007f\"}",
		"{\"access_token\":\"at-\\u00e9\"}",
		"{\"access_token\":\"at-é\"}",
		"{\"access_token\":\"a\\tb\"}",
		"{\"access_token\":\"a\",\"refresh_token\":\"rt-bad\\r\\n\"}",
		"{\"access_token\":\"a\",\"refresh_token\":\"rt-bad\\u001b[2J\"}",
		"{\"access_token\":\"a\",\"refresh_token\":\"rt-bad\\u0085\"}",
	};

	for (guint i = 0; i < G_N_ELEMENTS(bad); i++) {
		g_autoptr(GError) error = NULL;
		g_autoptr(MoToken) token = parse(200, bad[i], &error);

		if (token != NULL)
			fail_msg("accepted %s", bad[i]);
		mo_assert_error(error, MO_ERROR, MO_ERROR_PROTOCOL);
		mo_assert_str_contains(error->message, i < 6 ? "access_token" : "refresh_token");
		/* the old token is kept, and a rotated one may be gone */
		mo_assert_str_contains(error->message, "kept");
		mo_assert_str_contains(error->message, "mailoauth authorize");
		/* the bad token itself is never quoted */
		mo_assert_str_lacks(error->message, "at-34");
		mo_assert_str_lacks(error->message, "rt-bad");
	}
}

static void
test_parse_printable_tokens_accepted(void **state)
{
	g_autoptr(MoToken) token = parse_ok(
		"{\"access_token\":\"eyJ0.a-b_c~d+e/f= !\",\"refresh_token\":\"0.AAAA-~_.\"}");

	assert_string_equal(token->access_token, "eyJ0.a-b_c~d+e/f= !");
	assert_string_equal(token->refresh_token, "0.AAAA-~_.");
}

/* The provider's words reach a terminal: no escape sequences, no forged lines. */
static void
test_parse_error_description_escaped(void **state)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(MoToken) token =
		parse(400,
		      "{\"error\":\"invalid_grant\",\"error_description\":\"AADSTS70000:\\u001b]0;"
		      "owned\\u0007 expired\\r\\nmailoauth token: all fine\\u009b2J\"}",
		      &error);

	assert_null(token);
	mo_assert_error(error, MO_OAUTH_ERROR, MO_OAUTH_ERROR_INVALID_GRANT);
	mo_assert_str_lacks(error->message, "\x1b");
	mo_assert_str_lacks(error->message, "\x07");
	mo_assert_str_lacks(error->message, "\r");
	mo_assert_str_lacks(error->message, "\n");
	mo_assert_str_lacks(error->message, "\xc2\x9b");
	mo_assert_str_contains(error->message, "AADSTS70000:\\x1b]0;owned\\x07 expired");
	mo_assert_str_contains(error->message, "\\x0d\\x0amailoauth token: all fine");
}

/* A description of any length would flood the terminal and the export's status file. */
static void
test_parse_error_description_capped(void **state)
{
	g_autoptr(GString) body =
		g_string_new("{\"error\":\"invalid_grant\",\"error_description\":\"");
	g_autoptr(GError) error = NULL;
	g_autoptr(MoToken) token = NULL;

	g_string_append(body, "AADSTS70008: start");
	for (guint i = 0; i < 10000; i++)
		g_string_append(body, "ü");
	g_string_append(body, "THE-END\"}");
	token = parse(400, body->str, &error);

	assert_null(token);
	mo_assert_error(error, MO_OAUTH_ERROR, MO_OAUTH_ERROR_INVALID_GRANT);
	mo_assert_str_contains(error->message, "AADSTS70008: start");
	mo_assert_str_lacks(error->message, "THE-END");
	mo_assert_str_contains(error->message, "(HTTP 400)");
	if (strlen(error->message) > 600)
		fail_msg("the message is %zu bytes long", strlen(error->message));
	assert_true(g_utf8_validate(error->message, -1, NULL));
}

/* --- requests, against a canned server on 127.0.0.1 --- */

static MoApp *
app_new(const gchar *token_endpoint, const gchar *client_secret)
{
	MoApp *app = mo_app_new("test-app", MO_PROVIDER_CUSTOM);

	app->client_id = g_strdup("test-client");
	app->client_secret = g_strdup(client_secret);
	app->token_endpoint = g_strdup(token_endpoint);
	return app;
}

static void
test_refresh_request(void **state)
{
	const gchar *body = "{\"access_token\":\"new-a\",\"refresh_token\":\"new-r\","
			    "\"expires_in\":3600,\"token_type\":\"Bearer\"}";
	g_autoptr(MoTestServer) server = mo_test_server_new(200, NULL, body, strlen(body));
	g_autofree gchar *url = mo_test_server_get_url(server, "/token");
	g_autoptr(MoApp) app = app_new(url, "s3cr+t&=");
	g_autoptr(GError) error = NULL;
	g_autoptr(MoToken) token = NULL;
	g_autoptr(GHashTable) form = NULL;
	gint64 before = mo_test_now();

	token = mo_oauth_refresh(app, "old r+/=", &test_http_options, &error);
	mo_assert_no_error(error);
	assert_non_null(token);
	assert_string_equal(token->access_token, "new-a");
	assert_string_equal(token->refresh_token, "new-r");
	assert_in_range(token->expiry, before + 3600, mo_test_now() + 3600);

	assert_int_equal(mo_test_server_get_n_requests(server), 1);
	form = mo_test_server_dup_form(server, 0);
	assert_int_equal(g_hash_table_size(form), 4);
	assert_string_equal(g_hash_table_lookup(form, "grant_type"), "refresh_token");
	assert_string_equal(g_hash_table_lookup(form, "refresh_token"), "old r+/=");
	assert_string_equal(g_hash_table_lookup(form, "client_id"), "test-client");
	assert_string_equal(g_hash_table_lookup(form, "client_secret"), "s3cr+t&=");
}

static void
test_refresh_request_public_client(void **state)
{
	const gchar *body = "{\"access_token\":\"a\"}";
	g_autoptr(MoTestServer) server = mo_test_server_new(200, NULL, body, strlen(body));
	g_autofree gchar *url = mo_test_server_get_url(server, "/token");
	g_autoptr(MoApp) app = app_new(url, NULL);
	g_autoptr(MoApp) app_empty = app_new(url, "");
	g_autoptr(GError) error = NULL;
	g_autoptr(MoToken) token = NULL;
	g_autoptr(MoToken) token2 = NULL;
	g_autoptr(GHashTable) form = NULL;
	g_autoptr(GHashTable) form2 = NULL;

	token = mo_oauth_refresh(app, "r", &test_http_options, &error);
	mo_assert_no_error(error);
	token2 = mo_oauth_refresh(app_empty, "r", &test_http_options, &error);
	mo_assert_no_error(error);
	form = mo_test_server_dup_form(server, 0);
	form2 = mo_test_server_dup_form(server, 1);
	assert_false(g_hash_table_contains(form, "client_secret"));
	assert_false(g_hash_table_contains(form2, "client_secret"));
	assert_string_equal(g_hash_table_lookup(form, "client_id"), "test-client");
}

static void
test_refresh_without_refresh_token(void **state)
{
	g_autoptr(MoTestServer) server = mo_test_server_new(200, NULL, "{}", 2);
	g_autofree gchar *url = mo_test_server_get_url(server, "/token");
	g_autoptr(MoApp) app = app_new(url, NULL);
	const gchar *missing[] = {NULL, ""};

	for (guint i = 0; i < G_N_ELEMENTS(missing); i++) {
		g_autoptr(GError) error = NULL;
		g_autoptr(MoToken) token =
			mo_oauth_refresh(app, missing[i], &test_http_options, &error);
		assert_null(token);
		mo_assert_error(error, MO_ERROR, MO_ERROR_INVALID_DATA);
	}
	assert_int_equal(mo_test_server_get_n_connections(server), 0);
}

static void
test_refresh_retries_transient_within_bound(void **state)
{
	g_autoptr(MoTestServer) server = mo_test_server_new(503, "Retry-After: 0\r\n", "busy", 4);
	g_autofree gchar *url = mo_test_server_get_url(server, "/token");
	g_autoptr(MoApp) app = app_new(url, NULL);
	g_autoptr(GError) error = NULL;
	g_autoptr(MoToken) token = NULL;

	token = mo_oauth_refresh(app, "r", &test_http_options, &error);
	assert_null(token);
	mo_assert_error(error, MO_ERROR, MO_ERROR_TRANSIENT);
	assert_int_equal(mo_test_server_get_n_requests(server), MO_OAUTH_MAX_ATTEMPTS);
}

static void
test_refresh_no_retry_on_oauth_error(void **state)
{
	const gchar *body = "{\"error\":\"invalid_grant\",\"error_description\":\"" AADSTS70008
			    "\"}";
	g_autoptr(MoTestServer) server = mo_test_server_new(400, NULL, body, strlen(body));
	g_autofree gchar *url = mo_test_server_get_url(server, "/token");
	g_autoptr(MoApp) app = app_new(url, "secret-value");
	g_autoptr(GError) error = NULL;
	g_autoptr(MoToken) token = NULL;

	token = mo_oauth_refresh(app, "refresh-value", &test_http_options, &error);
	assert_null(token);
	mo_assert_error(error, MO_OAUTH_ERROR, MO_OAUTH_ERROR_INVALID_GRANT);
	mo_assert_str_contains(error->message, "AADSTS70008");
	mo_assert_str_lacks(error->message, "secret-value");
	mo_assert_str_lacks(error->message, "refresh-value");
	assert_int_equal(mo_test_server_get_n_requests(server), 1);
}

static void
test_refresh_no_retry_on_protocol_error(void **state)
{
	g_autoptr(MoTestServer) server = mo_test_server_new(200, NULL, "<html>", 6);
	g_autofree gchar *url = mo_test_server_get_url(server, "/token");
	g_autoptr(MoApp) app = app_new(url, NULL);
	g_autoptr(GError) error = NULL;
	g_autoptr(MoToken) token = NULL;

	token = mo_oauth_refresh(app, "r", &test_http_options, &error);
	assert_null(token);
	mo_assert_error(error, MO_ERROR, MO_ERROR_PROTOCOL);
	assert_int_equal(mo_test_server_get_n_requests(server), 1);
}

static void
test_refresh_insecure_endpoint(void **state)
{
	g_autoptr(MoApp) app = app_new("http://example.com/token", "secret-value");
	g_autoptr(GError) error = NULL;
	g_autoptr(MoToken) token = NULL;

	token = mo_oauth_refresh(app, "r", &test_http_options, &error);
	assert_null(token);
	mo_assert_error(error, MO_ERROR, MO_ERROR_INVALID_ARGUMENT);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_good_response),
		cmocka_unit_test(test_parse_expires_in_as_string),
		cmocka_unit_test(test_parse_missing_expires_in),
		cmocka_unit_test(test_parse_no_refresh_token),
		cmocka_unit_test(test_parse_length_is_honoured),
		cmocka_unit_test(test_parse_error_with_description),
		cmocka_unit_test(test_parse_error_codes),
		cmocka_unit_test(test_parse_unknown_error_code),
		cmocka_unit_test(test_parse_transient_status),
		cmocka_unit_test(test_parse_non_oauth_error_status),
		cmocka_unit_test(test_parse_200_garbage),
		cmocka_unit_test(test_parse_200_without_access_token),
		cmocka_unit_test(test_parse_200_with_error_member),
		cmocka_unit_test(test_refresh_request),
		cmocka_unit_test(test_refresh_request_public_client),
		cmocka_unit_test(test_refresh_without_refresh_token),
		cmocka_unit_test(test_refresh_retries_transient_within_bound),
		cmocka_unit_test(test_refresh_no_retry_on_oauth_error),
		cmocka_unit_test(test_refresh_no_retry_on_protocol_error),
		cmocka_unit_test(test_refresh_insecure_endpoint),
		cmocka_unit_test(test_parse_200_wrong_types_are_protocol_errors),
		cmocka_unit_test(test_parse_huge_expires_in),
		cmocka_unit_test(test_parse_odd_expires_in_as_absent),
		cmocka_unit_test(test_parse_control_characters_in_tokens),
		cmocka_unit_test(test_parse_printable_tokens_accepted),
		cmocka_unit_test(test_parse_error_description_escaped),
		cmocka_unit_test(test_parse_error_description_capped),
	};

	mo_test_init();
	cmocka_set_message_output(CM_OUTPUT_TAP);
	return cmocka_run_group_tests_name("unit/oauth", tests, NULL, NULL);
}
