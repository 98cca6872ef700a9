/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "mo-sasl-format.h"
#include "mo-test.h"

/* Compares the whole buffer, ^A and all, and prints both sides readably when they differ. */
static void
assert_bytes_equal(const gchar *got, gsize got_len, const gchar *expected)
{
	gsize expected_len = strlen(expected);

	assert_non_null(got);
	if (got_len != expected_len || memcmp(got, expected, expected_len) != 0) {
		g_autofree gchar *got_esc = g_strescape(got, NULL);
		g_autofree gchar *expected_esc = g_strescape(expected, NULL);
		fail_msg("got “%s” (%zu bytes), expected “%s” (%zu bytes)",
			 got_esc,
			 got_len,
			 expected_esc,
			 expected_len);
	}
	/* callers copy it as a C string too */
	assert_int_equal(got[got_len], '\0');
}

static void
test_xoauth2(void **state)
{
	gsize len = 0;
	g_autofree gchar *out = mo_sasl_xoauth2_response("me@example.com", "ya29.a0-_~+/=", &len);

	assert_bytes_equal(out, len, "user=me@example.com\001auth=Bearer ya29.a0-_~+/=\001\001");
}

/* XOAUTH2 has no escaping: the user goes in as it is, ',' and '=' included. */
static void
test_xoauth2_user_not_escaped(void **state)
{
	gsize len = 0;
	g_autofree gchar *out = mo_sasl_xoauth2_response("a,b=c@example.com", "t", &len);

	assert_bytes_equal(out, len, "user=a,b=c@example.com\001auth=Bearer t\001\001");
}

static void
test_oauthbearer_host_and_port(void **state)
{
	gsize len = 0;
	g_autofree gchar *out = mo_sasl_oauthbearer_response("me@example.com",
							     "imap.example.com",
							     993,
							     "T0k",
							     &len);

	/* RFC 7628 §3.1, as in its example */
	assert_bytes_equal(out,
			   len,
			   "n,a=me@example.com,\001host=imap.example.com\001port=993\001"
			   "auth=Bearer T0k\001\001");
}

static void
test_oauthbearer_escapes_user(void **state)
{
	gsize len = 0;
	g_autofree gchar *out =
		mo_sasl_oauthbearer_response("a,b=c,=@example.com", "h", 143, "t", &len);

	/* RFC 5801 §4: ',' is =2C, '=' is =3D; '=' in the token is not escaped */
	assert_bytes_equal(out,
			   len,
			   "n,a=a=2Cb=3Dc=2C=3D@example.com,\001host=h\001port=143\001"
			   "auth=Bearer t\001\001");
}

static void
test_oauthbearer_without_host_or_port(void **state)
{
	gsize len = 0;
	g_autofree gchar *none = mo_sasl_oauthbearer_response("u@x", NULL, 0, "t=", &len);
	g_autofree gchar *empty_host = NULL;
	g_autofree gchar *host_only = NULL;
	g_autofree gchar *port_only = NULL;

	assert_bytes_equal(none, len, "n,a=u@x,\001auth=Bearer t=\001\001");
	empty_host = mo_sasl_oauthbearer_response("u@x", "", 0, "t", &len);
	assert_bytes_equal(empty_host, len, "n,a=u@x,\001auth=Bearer t\001\001");
	host_only = mo_sasl_oauthbearer_response("u@x", "mail.example.com", 0, "t", &len);
	assert_bytes_equal(host_only,
			   len,
			   "n,a=u@x,\001host=mail.example.com\001auth=Bearer t\001\001");
	port_only = mo_sasl_oauthbearer_response("u@x", NULL, 587, "t", &len);
	assert_bytes_equal(port_only, len, "n,a=u@x,\001port=587\001auth=Bearer t\001\001");
}

static void
test_oauthbearer_port_bounds(void **state)
{
	gsize len = 0;
	g_autofree gchar *low = mo_sasl_oauthbearer_response("u", "h", 1, "t", &len);
	g_autofree gchar *high = NULL;

	assert_bytes_equal(low, len, "n,a=u,\001host=h\001port=1\001auth=Bearer t\001\001");
	high = mo_sasl_oauthbearer_response("u", "h", 65535, "t", &len);
	assert_bytes_equal(high, len, "n,a=u,\001host=h\001port=65535\001auth=Bearer t\001\001");
}

static gchar *
describe(const gchar *challenge)
{
	return mo_sasl_describe_challenge(challenge, strlen(challenge));
}

/* What Dovecot 2.3 sends a client whose token it rejects (tests/TEST-STACK.md). */
static void
test_describe_dovecot_xoauth2(void **state)
{
	g_autofree gchar *what = describe("{\"status\":\"401\",\"schemes\":\"bearer\","
					  "\"scope\":\"mail\"}");

	assert_non_null(what);
	assert_string_equal(what, "status 401, scope mail");
}

static void
test_describe_dovecot_oauthbearer(void **state)
{
	g_autofree gchar *what = describe("{\"status\":\"invalid_token\"}");

	assert_non_null(what);
	assert_string_equal(what, "status invalid_token");
}

/* Gmail's, with a URL for a scope and the extra member RFC 7628 allows. */
static void
test_describe_google(void **state)
{
	g_autofree gchar *what = describe("{\"status\":\"400\",\"schemes\":\"Bearer\","
					  "\"scope\":\"https://mail.google.com/\"}");
	g_autofree gchar *rfc =
		describe("{\"status\":\"invalid_token\",\"scope\":\"example_scope\","
			 "\"openid-configuration\":\"https://example.com/.well-known/"
			 "openid-configuration\"}");

	assert_non_null(what);
	assert_string_equal(what, "status 400, scope https://mail.google.com/");
	assert_non_null(rfc);
	assert_string_equal(rfc, "status invalid_token, scope example_scope");
}

/* The length given counts, not a NUL: a challenge is binary data from the network. */
static void
test_describe_uses_length(void **state)
{
	const gchar data[] = "{\"status\":\"401\"}garbage";
	g_autofree gchar *what = mo_sasl_describe_challenge(data, strlen("{\"status\":\"401\"}"));
	g_autofree gchar *whole = mo_sasl_describe_challenge(data, strlen(data));

	assert_non_null(what);
	assert_string_equal(what, "status 401");
	assert_null(whole);
}

static void
test_describe_not_json(void **state)
{
	const gchar *bad[] = {
		"NO [AUTHENTICATIONFAILED] Authentication failed.",
		"535 5.7.8 Error: authentication failed",
		"{\"status\":\"401\"",
		"[\"status\",\"401\"]",
		"\"401\"",
		"{}",
		/* no status: nothing to say */
		"{\"scope\":\"mail\"}",
		"{\"status\":null}",
		"{\"status\":401}",
		"{\"status\":\"401\",\"status\":\"200\"}",
	};

	for (guint i = 0; i < G_N_ELEMENTS(bad); i++) {
		g_autofree gchar *what = describe(bad[i]);
		if (what != NULL)
			fail_msg("“%s” described as “%s”", bad[i], what);
	}
	assert_null(mo_sasl_describe_challenge(NULL, 0));
	assert_null(mo_sasl_describe_challenge("", 0));
	assert_null(mo_sasl_describe_challenge("\0\0\0", 3));
}

/* A JSON object of exactly @len bytes: the status, padded with spaces before the brace. */
static gchar *
challenge_of_size(gsize len)
{
	const gchar *json = "{\"status\":\"401\",\"scope\":\"mail\"}";
	GString *out = g_string_new(NULL);

	g_assert(len >= strlen(json));
	g_string_append(out, json);
	g_string_truncate(out, out->len - 1);
	while (out->len < len - 1)
		g_string_append_c(out, ' ');
	g_string_append_c(out, '}');
	return g_string_free(out, FALSE);
}

static void
test_describe_size_limit(void **state)
{
	g_autofree gchar *at_max = challenge_of_size(MO_SASL_CHALLENGE_MAX);
	g_autofree gchar *over = challenge_of_size(MO_SASL_CHALLENGE_MAX + 1);
	g_autofree gchar *huge = challenge_of_size(64 * 1024);
	g_autofree gchar *what = NULL;

	assert_int_equal(strlen(at_max), MO_SASL_CHALLENGE_MAX);
	what = describe(at_max);
	assert_non_null(what);
	assert_string_equal(what, "status 401, scope mail");
	assert_int_equal(strlen(over), MO_SASL_CHALLENGE_MAX + 1);
	assert_null(describe(over));
	assert_null(describe(huge));
}

static void
assert_printable(const gchar *text)
{
	assert_non_null(text);
	for (const gchar *p = text; *p != '\0'; p++) {
		if ((guchar)*p < 0x20 || (guchar)*p >= 0x7f) {
			g_autofree gchar *esc = g_strescape(text, NULL);
			fail_msg("“%s” has byte 0x%02x", esc, (guchar)*p);
		}
	}
}

/* The description goes into a log line and the client's error: a server must not get escape
 * sequences or line breaks into either. */
static void
test_describe_strips_control_chars(void **state)
{
	g_autofree gchar *what = describe("{\"status\":\"inv\\u001b[31malid\\r\\nX-Fake: 1\","
					  "\"scope\":\"ma\\u0007il\\tok\\u007f\\u009b2J\"}");
	g_autofree gchar *utf8 = describe("{\"status\":\"\u00e9t\u00e9\",\"scope\":\"\u2028\"}");

	assert_printable(what);
	assert_string_equal(what, "status inv??31malid??X-Fake??1, scope ma?il?ok???2J");
	mo_assert_str_lacks(what, "\033");
	mo_assert_str_lacks(what, "\n");
	/* non-ASCII is replaced byte by byte too: only a log line, never shown as the user's */
	assert_printable(utf8);
	mo_assert_str_contains(utf8, "status ");
}

/* A NUL inside the JSON string would cut the description short: refused instead. */
static void
test_describe_nul_in_status(void **state)
{
	g_autofree gchar *what = describe("{\"status\":\"401\\u0000injected\"}");

	if (what != NULL)
		assert_printable(what);
	if (what != NULL)
		mo_assert_str_lacks(what, "injected");
}

/* --- regressions: defects found by these tests, fixed since --- */

/* RFC 5801 §4: gs2-authzid = "a=" saslname, and saslname is 1*(…): an empty user must leave
 * the authzid out ("n,,"), not send "n,a=,", which a strict server refuses as malformed. */
static void
test_oauthbearer_empty_user(void **state)
{
	gsize len = 0;
	g_autofree gchar *out = mo_sasl_oauthbearer_response("", "h", 143, "t", &len);

	assert_bytes_equal(out, len, "n,,\001host=h\001port=143\001auth=Bearer t\001\001");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_xoauth2),
		cmocka_unit_test(test_xoauth2_user_not_escaped),
		cmocka_unit_test(test_oauthbearer_host_and_port),
		cmocka_unit_test(test_oauthbearer_escapes_user),
		cmocka_unit_test(test_oauthbearer_without_host_or_port),
		cmocka_unit_test(test_oauthbearer_port_bounds),
		cmocka_unit_test(test_describe_dovecot_xoauth2),
		cmocka_unit_test(test_describe_dovecot_oauthbearer),
		cmocka_unit_test(test_describe_google),
		cmocka_unit_test(test_describe_uses_length),
		cmocka_unit_test(test_describe_not_json),
		cmocka_unit_test(test_describe_size_limit),
		cmocka_unit_test(test_describe_strips_control_chars),
		cmocka_unit_test(test_describe_nul_in_status),
		cmocka_unit_test(test_oauthbearer_empty_user),
	};

	mo_test_init();
	cmocka_set_message_output(CM_OUTPUT_TAP);
	return cmocka_run_group_tests_name("unit/sasl-format", tests, NULL, NULL);
}
