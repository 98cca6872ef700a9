/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "mo-error.h"
#include "mo-test.h"

static const struct {
	MoOAuthErrorCode code;
	const gchar *name;
	gboolean reauthorize;
} oauth_codes[] = {
	{MO_OAUTH_ERROR_INVALID_REQUEST, "invalid_request", FALSE},
	{MO_OAUTH_ERROR_INVALID_CLIENT, "invalid_client", TRUE},
	{MO_OAUTH_ERROR_INVALID_GRANT, "invalid_grant", TRUE},
	{MO_OAUTH_ERROR_UNAUTHORIZED_CLIENT, "unauthorized_client", TRUE},
	{MO_OAUTH_ERROR_UNSUPPORTED_GRANT_TYPE, "unsupported_grant_type", FALSE},
	{MO_OAUTH_ERROR_INVALID_SCOPE, "invalid_scope", TRUE},
	{MO_OAUTH_ERROR_ACCESS_DENIED, "access_denied", TRUE},
	{MO_OAUTH_ERROR_EXPIRED_TOKEN, "expired_token", TRUE},
	{MO_OAUTH_ERROR_AUTHORIZATION_PENDING, "authorization_pending", FALSE},
	{MO_OAUTH_ERROR_SLOW_DOWN, "slow_down", FALSE},
	{MO_OAUTH_ERROR_INTERACTION_REQUIRED, "interaction_required", TRUE},
};

static void
test_quarks(void **state)
{
	assert_int_not_equal(MO_ERROR, 0);
	assert_int_not_equal(MO_OAUTH_ERROR, 0);
	assert_int_not_equal(MO_ERROR, MO_OAUTH_ERROR);
	assert_int_equal(MO_ERROR, mo_error_quark());
}

static void
test_oauth_names_both_ways(void **state)
{
	/* the table above covers every code but OTHER */
	assert_int_equal(G_N_ELEMENTS(oauth_codes), MO_OAUTH_ERROR_INTERACTION_REQUIRED);
	for (guint i = 0; i < G_N_ELEMENTS(oauth_codes); i++) {
		assert_int_equal(mo_oauth_error_from_string(oauth_codes[i].name),
				 oauth_codes[i].code);
		assert_string_equal(mo_oauth_error_to_string(oauth_codes[i].code),
				    oauth_codes[i].name);
	}
}

static void
test_oauth_unknown_names(void **state)
{
	const gchar *unknown[] = {"server_error",
				  "temporarily_unavailable",
				  "INVALID_GRANT",
				  "invalid_grant ",
				  "",
				  "error"};

	for (guint i = 0; i < G_N_ELEMENTS(unknown); i++)
		assert_int_equal(mo_oauth_error_from_string(unknown[i]), MO_OAUTH_ERROR_OTHER);
	assert_int_equal(mo_oauth_error_from_string(NULL), MO_OAUTH_ERROR_OTHER);
	assert_string_equal(mo_oauth_error_to_string(MO_OAUTH_ERROR_OTHER), "error");
	assert_string_equal(mo_oauth_error_to_string((MoOAuthErrorCode)999), "error");
}

static void
test_needs_reauthorization(void **state)
{
	g_autoptr(GError) other = g_error_new(MO_OAUTH_ERROR, MO_OAUTH_ERROR_OTHER, "x");

	for (guint i = 0; i < G_N_ELEMENTS(oauth_codes); i++) {
		g_autoptr(GError) error = g_error_new(MO_OAUTH_ERROR, oauth_codes[i].code, "x");
		if (mo_error_needs_reauthorization(error) != oauth_codes[i].reauthorize)
			fail_msg("%s: needs_reauthorization is %d",
				 oauth_codes[i].name,
				 !oauth_codes[i].reauthorize);
	}
	assert_false(mo_error_needs_reauthorization(other));
	assert_false(mo_error_needs_reauthorization(NULL));
}

/* Same code numbers in another domain are not OAuth errors. */
static void
test_needs_reauthorization_other_domains(void **state)
{
	for (guint i = 0; i < G_N_ELEMENTS(oauth_codes); i++) {
		g_autoptr(GError) local = g_error_new(MO_ERROR, oauth_codes[i].code, "x");
		g_autoptr(GError) foreign = g_error_new(G_KEY_FILE_ERROR, oauth_codes[i].code, "x");
		assert_false(mo_error_needs_reauthorization(local));
		assert_false(mo_error_needs_reauthorization(foreign));
	}
}

/* The documented numbers: scripts (mbsync wrappers, systemd units) depend on them. */
static void
test_exit_code_values(void **state)
{
	assert_int_equal(MO_EXIT_OK, 0);
	assert_int_equal(MO_EXIT_FAILURE, 1);
	assert_int_equal(MO_EXIT_USAGE, 2);
	assert_int_equal(MO_EXIT_NOT_FOUND, 3);
	assert_int_equal(MO_EXIT_REAUTHORIZE, 4);
	assert_int_equal(MO_EXIT_KEYRING, 5);
	assert_int_equal(MO_EXIT_TEMPFAIL, 6);
	assert_int_equal(MO_EXIT_CLIENT, 7);
}

static void
assert_exit_code(GQuark domain, gint code, MoExitCode expected)
{
	g_autoptr(GError) error = g_error_new(domain, code, "test");
	MoExitCode got = mo_error_to_exit_code(error);

	if (got != expected)
		fail_msg("%s:%d maps to exit code %d, expected %d",
			 g_quark_to_string(domain),
			 code,
			 got,
			 expected);
}

static void
test_exit_code_local_errors(void **state)
{
	assert_int_equal(mo_error_to_exit_code(NULL), MO_EXIT_OK);
	assert_exit_code(MO_ERROR, MO_ERROR_FAILED, MO_EXIT_FAILURE);
	assert_exit_code(MO_ERROR, MO_ERROR_NOT_FOUND, MO_EXIT_NOT_FOUND);
	assert_exit_code(MO_ERROR, MO_ERROR_KEYRING_LOCKED, MO_EXIT_KEYRING);
	assert_exit_code(MO_ERROR, MO_ERROR_KEYRING_UNAVAILABLE, MO_EXIT_KEYRING);
	assert_exit_code(MO_ERROR, MO_ERROR_INVALID_DATA, MO_EXIT_FAILURE);
	assert_exit_code(MO_ERROR, MO_ERROR_TRANSIENT, MO_EXIT_TEMPFAIL);
	assert_exit_code(MO_ERROR, MO_ERROR_PROTOCOL, MO_EXIT_FAILURE);
	assert_exit_code(MO_ERROR, MO_ERROR_INVALID_ARGUMENT, MO_EXIT_USAGE);
	assert_exit_code(MO_ERROR, 999, MO_EXIT_FAILURE);
}

static void
test_exit_code_oauth_errors(void **state)
{
	for (guint i = 0; i < G_N_ELEMENTS(oauth_codes); i++) {
		gboolean client = oauth_codes[i].code == MO_OAUTH_ERROR_INVALID_CLIENT ||
				  oauth_codes[i].code == MO_OAUTH_ERROR_UNAUTHORIZED_CLIENT;
		/* the app's client is wrong: a new sign-in cannot fix it (exit 7) */
		assert_exit_code(MO_OAUTH_ERROR,
				 oauth_codes[i].code,
				 client			      ? MO_EXIT_CLIENT
				 : oauth_codes[i].reauthorize ? MO_EXIT_REAUTHORIZE
							      : MO_EXIT_FAILURE);
	}
	assert_exit_code(MO_OAUTH_ERROR, MO_OAUTH_ERROR_OTHER, MO_EXIT_FAILURE);
}

static void
test_exit_code_foreign_domains(void **state)
{
	assert_exit_code(G_OPTION_ERROR, G_OPTION_ERROR_UNKNOWN_OPTION, MO_EXIT_USAGE);
	assert_exit_code(G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE, MO_EXIT_USAGE);
	assert_exit_code(G_OPTION_ERROR, G_OPTION_ERROR_FAILED, MO_EXIT_USAGE);
	/* code numbers that mean something in MO_ERROR mean nothing elsewhere */
	assert_exit_code(G_KEY_FILE_ERROR, MO_ERROR_NOT_FOUND, MO_EXIT_FAILURE);
	assert_exit_code(G_KEY_FILE_ERROR, MO_ERROR_TRANSIENT, MO_EXIT_FAILURE);
	assert_exit_code(G_FILE_ERROR, G_FILE_ERROR_NOENT, MO_EXIT_FAILURE);
}

/* Context added on the way up must not change the verdict. */
static void
test_exit_code_survives_prefix(void **state)
{
	g_autoptr(GError) error = g_error_new(MO_OAUTH_ERROR, MO_OAUTH_ERROR_INVALID_GRANT, "x");
	g_autoptr(GError) transient = g_error_new(MO_ERROR, MO_ERROR_TRANSIENT, "x");

	g_prefix_error(&error, "Cannot refresh the token of %s: ", "me@example.com");
	g_prefix_error(&transient, "Cannot refresh: ");
	assert_int_equal(mo_error_to_exit_code(error), MO_EXIT_REAUTHORIZE);
	assert_int_equal(mo_error_to_exit_code(transient), MO_EXIT_TEMPFAIL);
}

/* --- text from outside, on its way to a terminal --- */

static void
assert_escaped(const gchar *text, const gchar *expected)
{
	g_autofree gchar *got = mo_text_escape(text);

	if (g_strcmp0(got, expected) != 0) {
		g_autofree gchar *text_c = g_strescape(text, NULL);
		g_autofree gchar *got_c = g_strescape(got, NULL);
		fail_msg("“%s” escaped to “%s”, expected “%s”", text_c, got_c, expected);
	}
}

static void
test_escape_keeps_printable_text(void **state)
{
	assert_null(mo_text_escape(NULL));
	assert_escaped("", "");
	assert_escaped("me@example.com", "me@example.com");
	assert_escaped("AADSTS70000: The provided grant has expired (HTTP 400)",
		       "AADSTS70000: The provided grant has expired (HTTP 400)");
	/* international names and our own quotes stay readable */
	assert_escaped("jürgen@exämple.com", "jürgen@exämple.com");
	assert_escaped("“name” — 名前", "“name” — 名前");
	assert_escaped("C:\\path", "C:\\path");
}

/* Escape sequences, forged lines and bytes a terminal may take for an 8-bit control. */
static void
test_escape_control_characters(void **state)
{
	assert_escaped("a\x1b[31mb", "a\\x1b[31mb");
	assert_escaped("\x1b]0;title\x07", "\\x1b]0;title\\x07");
	assert_escaped("at-34\r\nX-Injected: 1", "at-34\\x0d\\x0aX-Injected: 1");
	assert_escaped("tab\there", "tab\\x09here");
	assert_escaped("del\x7f", "del\\x7f");
	/* U+009B, CSI as a C1 control; U+202E, right-to-left override; U+2028, line separator */
	assert_escaped("x\xc2\x9b"
		       "2Jy",
		       "x\\xc2\\x9b2Jy");
	assert_escaped("a\xe2\x80\xae"
		       "b",
		       "a\\xe2\\x80\\xaeb");
	assert_escaped("a\xe2\x80\xa8"
		       "b",
		       "a\\xe2\\x80\\xa8b");
}

static void
test_escape_invalid_utf8(void **state)
{
	assert_escaped("\xff", "\\xff");
	assert_escaped("ab\xc3", "ab\\xc3");
	/* overlong "/" and a lone continuation byte */
	assert_escaped("\xc0\xaf", "\\xc0\\xaf");
	assert_escaped("a\x80"
		       "b",
		       "a\\x80b");
	/* Latin-1 é between valid UTF-8 */
	assert_escaped("ü\xe9ü", "ü\\xe9ü");
}

/* The in-place form replaces what the escaping form escapes, byte by byte. */
static void
test_sanitize_in_place(void **state)
{
	g_autofree gchar *text = g_strdup("a\x1b[2Jb\xff"
					  "c\xc2\x9b"
					  "dü\r\n");

	mo_text_sanitize(text);
	assert_string_equal(text, "a?[2Jb?c??dü??");
	mo_text_sanitize(NULL);
}

static void
test_vschar(void **state)
{
	assert_true(mo_text_is_vschar(""));
	assert_true(mo_text_is_vschar("eyJ0eXAi.x-y_z~+/="));
	assert_true(mo_text_is_vschar(" !~"));
	assert_false(mo_text_is_vschar("at-34\r\nX-Injected: 1"));
	assert_false(mo_text_is_vschar("a\x1b]0;t\x07"));
	assert_false(mo_text_is_vschar("a\tb"));
	assert_false(mo_text_is_vschar("a\x7f"));
	assert_false(mo_text_is_vschar("é"));
	assert_false(mo_text_is_vschar("\xff"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_quarks),
		cmocka_unit_test(test_oauth_names_both_ways),
		cmocka_unit_test(test_oauth_unknown_names),
		cmocka_unit_test(test_needs_reauthorization),
		cmocka_unit_test(test_needs_reauthorization_other_domains),
		cmocka_unit_test(test_exit_code_values),
		cmocka_unit_test(test_exit_code_local_errors),
		cmocka_unit_test(test_exit_code_oauth_errors),
		cmocka_unit_test(test_exit_code_foreign_domains),
		cmocka_unit_test(test_exit_code_survives_prefix),
		cmocka_unit_test(test_escape_keeps_printable_text),
		cmocka_unit_test(test_escape_control_characters),
		cmocka_unit_test(test_escape_invalid_utf8),
		cmocka_unit_test(test_sanitize_in_place),
		cmocka_unit_test(test_vschar),
	};

	mo_test_init();
	cmocka_set_message_output(CM_OUTPUT_TAP);
	return cmocka_run_group_tests_name("unit/error", tests, NULL, NULL);
}
