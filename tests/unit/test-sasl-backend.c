/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <glib/gstdio.h>
#include <unistd.h>

#include "mo-error.h"
#include "mo-sasl-backend.h"
#include "mo-test.h"

#define TEST_USER "me@example.com"

static gchar *test_dir;

static void
assert_classified(const gchar *password, MoSaslSource expected_source, const gchar *expected_name)
{
	static gchar unset[] = "unset";
	g_autofree gchar *name = NULL;
	gchar *out = unset;
	MoSaslSource source;

	/* *name is always set, to NULL when there is nothing to name */
	source = mo_sasl_classify(TEST_USER, password, &out);
	if (out == unset)
		fail_msg("“%s” left the name unset", password != NULL ? password : "(null)");
	name = out;
	if (source != expected_source)
		fail_msg("“%s” classified as %d, expected %d",
			 password != NULL ? password : "(null)",
			 (gint)source,
			 (gint)expected_source);
	if (g_strcmp0(name, expected_name) != 0)
		fail_msg("“%s” gave name “%s”, expected “%s”",
			 password != NULL ? password : "(null)",
			 name != NULL ? name : "(null)",
			 expected_name != NULL ? expected_name : "(null)");
}

static void
test_classify_keyring(void **state)
{
	/* nothing, or the prefix alone: the user's own account */
	assert_classified("", MO_SASL_SOURCE_KEYRING, TEST_USER);
	assert_classified(NULL, MO_SASL_SOURCE_KEYRING, TEST_USER);
	assert_classified("keyring:", MO_SASL_SOURCE_KEYRING, TEST_USER);
	/* another account than the login name */
	assert_classified("keyring:other@example.org", MO_SASL_SOURCE_KEYRING, "other@example.org");
	assert_classified("keyring:work", MO_SASL_SOURCE_KEYRING, "work");
}

static void
test_classify_file(void **state)
{
	assert_classified("/etc/sasl-tokens/me@example.com",
			  MO_SASL_SOURCE_FILE,
			  "/etc/sasl-tokens/me@example.com");
	assert_classified("/abs/path", MO_SASL_SOURCE_FILE, "/abs/path");
}

/* Anything else is the access token itself: a token never starts with '/', and one with a
 * '/' in it (Microsoft's opaque tokens are base64) names no existing file. */
static void
test_classify_token(void **state)
{
	assert_classified("ya29.token", MO_SASL_SOURCE_TOKEN, NULL);
	assert_classified("relative/path", MO_SASL_SOURCE_TOKEN, NULL);
	assert_classified("EwBwA8l6BAAU+/=", MO_SASL_SOURCE_TOKEN, NULL);
	/* the prefix is exact */
	assert_classified("keyring", MO_SASL_SOURCE_TOKEN, NULL);
	assert_classified(" keyring:x", MO_SASL_SOURCE_TOKEN, NULL);
}

/* As sasl-xoauth2: a relative path that names a file is that token file; one that starts
 * like a path is a file even when missing (reported as missing, never sent as a token). */
static void
test_classify_relative_file(void **state)
{
	g_autofree gchar *cwd = g_get_current_dir();
	g_autofree gchar *sub = g_build_filename(test_dir, "tokens", NULL);
	g_autofree gchar *file = g_build_filename(sub, "me.json", NULL);
	g_autofree gchar *missing = g_build_filename(test_dir, "missing.json", NULL);
	g_autofree gchar *home = g_build_filename(g_get_home_dir(), "t.json", NULL);

	g_mkdir(sub, 0700);
	mo_test_write_file(file, "{}");
	assert_int_equal(chdir(test_dir), 0);
	assert_classified("tokens/me.json", MO_SASL_SOURCE_FILE, file);
	assert_classified("./tokens/me.json", MO_SASL_SOURCE_FILE, file);
	assert_classified("./missing.json", MO_SASL_SOURCE_FILE, missing);
	assert_classified("~/t.json", MO_SASL_SOURCE_FILE, home);
	assert_classified("tokens/other.json", MO_SASL_SOURCE_TOKEN, NULL);
	assert_int_equal(chdir(cwd), 0);
}

static void
test_rejection_keyring(void **state)
{
	g_autofree gchar *msg = mo_sasl_describe_rejection(TEST_USER,
							   MO_SASL_SOURCE_KEYRING,
							   "other@example.org",
							   "status 401, scope mail");

	mo_assert_str_contains(msg, "account other@example.org");
	mo_assert_str_contains(msg, "(status 401, scope mail)");
	mo_assert_str_contains(msg, "mailoauth status other@example.org");
	mo_assert_str_contains(msg, "mailoauth authorize other@example.org");
}

static void
test_rejection_file(void **state)
{
	g_autofree gchar *msg = mo_sasl_describe_rejection(TEST_USER,
							   MO_SASL_SOURCE_FILE,
							   "/etc/sasl-tokens/me@example.com",
							   "status invalid_token");

	mo_assert_str_contains(msg, "/etc/sasl-tokens/me@example.com");
	mo_assert_str_contains(msg, "for " TEST_USER);
	mo_assert_str_contains(msg, "(status invalid_token)");
}

static void
test_rejection_token(void **state)
{
	g_autofree gchar *msg =
		mo_sasl_describe_rejection(TEST_USER, MO_SASL_SOURCE_TOKEN, NULL, "status 401");

	mo_assert_str_contains(msg, "password of " TEST_USER);
	mo_assert_str_contains(msg, "(status 401)");
	mo_assert_str_contains(msg, "mailoauth token " TEST_USER);
	mo_assert_str_lacks(msg, "(null)");
}

/* No challenge to describe (not JSON): no empty parentheses. */
static void
test_rejection_without_challenge(void **state)
{
	const struct {
		MoSaslSource source;
		const gchar *name;
	} cases[] = {
		{MO_SASL_SOURCE_KEYRING, TEST_USER},
		{MO_SASL_SOURCE_FILE, "/etc/sasl-tokens/t"},
		{MO_SASL_SOURCE_TOKEN, NULL},
	};

	for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autofree gchar *msg =
			mo_sasl_describe_rejection(TEST_USER, cases[i].source, cases[i].name, NULL);

		mo_assert_str_contains(msg, "rejected");
		mo_assert_str_contains(msg, cases[i].name != NULL ? cases[i].name : TEST_USER);
		mo_assert_str_lacks(msg, "()");
		mo_assert_str_lacks(msg, "(null)");
	}
}

static MoSaslCredentials *
creds_new(const gchar *user, const gchar *password)
{
	MoSaslCredentials *creds = g_new0(MoSaslCredentials, 1);

	creds->user = g_strdup(user);
	creds->password = g_strdup(password);
	return creds;
}

static gchar *
resolve_as(const gchar *password, MoSaslSource *source, gchar **name, gchar **user, GError **error)
{
	g_autoptr(MoSaslCredentials) creds = creds_new(TEST_USER, password);

	return mo_sasl_resolve_token(creds, source, name, user, error);
}

static gchar *
resolve(const gchar *password, MoSaslSource *source, gchar **name, GError **error)
{
	g_autofree gchar *user = NULL;

	return resolve_as(password, source, name, &user, error);
}

static void
test_resolve_token_as_is(void **state)
{
	g_autoptr(GError) error = NULL;
	g_autofree gchar *name = NULL;
	g_autofree gchar *token = NULL;
	MoSaslSource source = MO_SASL_SOURCE_KEYRING;

	token = resolve("ya29.a0AfH6SM-_~+/=", &source, &name, &error);
	mo_assert_no_error(error);
	assert_string_equal(token, "ya29.a0AfH6SM-_~+/=");
	assert_int_equal(source, MO_SASL_SOURCE_TOKEN);
	assert_null(name);
}

/* ^A separates the fields of both mechanisms: a token with control characters would let the
 * password rewrite the message. The error names the user, never the token. */
static void
test_resolve_refuses_control_chars(void **state)
{
	const gchar *bad[] = {"abc\001def", "abc\ndef", "abc\r", "\tabc", "abc\177def", "abc\033"};

	for (guint i = 0; i < G_N_ELEMENTS(bad); i++) {
		g_autoptr(GError) error = NULL;
		g_autofree gchar *name = NULL;
		g_autofree gchar *token = NULL;
		MoSaslSource source;

		token = resolve(bad[i], &source, &name, &error);
		if (token != NULL) {
			g_autofree gchar *esc = g_strescape(bad[i], NULL);
			fail_msg("“%s” accepted", esc);
		}
		mo_assert_error(error, MO_ERROR, MO_ERROR_INVALID_DATA);
		mo_assert_str_contains(error->message, TEST_USER);
		mo_assert_str_lacks(error->message, "abc");
		assert_int_equal(source, MO_SASL_SOURCE_TOKEN);
	}
}

static gchar *
write_token_file(const gchar *name, const gchar *access_token)
{
	gchar *path = g_build_filename(test_dir, name, NULL);
	g_autofree gchar *text = g_strdup_printf("{\"access_token\":\"%s\",\"refresh_token\":\"r\","
						 "\"expiry\":\"%" G_GINT64_FORMAT "\"}",
						 access_token,
						 mo_test_now() + 3600);

	mo_test_write_file(path, text);
	return path;
}

static void
test_resolve_file(void **state)
{
	g_autofree gchar *path = write_token_file("fresh.json", "file-a");
	g_autoptr(GError) error = NULL;
	g_autofree gchar *name = NULL;
	g_autofree gchar *token = NULL;
	MoSaslSource source;

	token = resolve(path, &source, &name, &error);
	mo_assert_no_error(error);
	assert_string_equal(token, "file-a");
	assert_int_equal(source, MO_SASL_SOURCE_FILE);
	assert_string_equal(name, path);
}

/* sasl-xoauth2 documents a token file's user as the login name (postfix's sasl_passwd may
 * name another); a file without one leaves the SASL user alone. */
static void
test_resolve_file_user_overrides(void **state)
{
	g_autofree gchar *path = g_build_filename(test_dir, "with-user.json", NULL);
	g_autofree gchar *text = g_strdup_printf("{\"access_token\":\"file-a\",\"refresh_token\":"
						 "\"r\",\"user\":\"other@example.com\","
						 "\"expiry\":\"%" G_GINT64_FORMAT "\"}",
						 mo_test_now() + 3600);
	g_autofree gchar *plain = write_token_file("without-user.json", "file-b");
	g_autoptr(GError) error = NULL;
	g_autofree gchar *name = NULL;
	g_autofree gchar *user = NULL;
	g_autofree gchar *token = NULL;
	MoSaslSource source;

	mo_test_write_file(path, text);
	token = resolve_as(path, &source, &name, &user, &error);
	mo_assert_no_error(error);
	assert_string_equal(token, "file-a");
	assert_string_equal(user, "other@example.com");
	g_clear_pointer(&token, g_free);
	g_clear_pointer(&name, g_free);
	g_clear_pointer(&user, g_free);
	token = resolve_as(plain, &source, &name, &user, &error);
	mo_assert_no_error(error);
	assert_null(user);
}

/* The check holds for every source: here a token file holding ^A in its access token. */
static void
test_resolve_file_refuses_control_chars(void **state)
{
	g_autofree gchar *path = write_token_file("hostile.json", "a\\u0001auth=Bearer b");
	g_autoptr(GError) error = NULL;
	g_autofree gchar *name = NULL;
	g_autofree gchar *token = NULL;
	MoSaslSource source;

	token = resolve(path, &source, &name, &error);
	assert_null(token);
	mo_assert_error(error, MO_ERROR, MO_ERROR_INVALID_DATA);
	mo_assert_str_lacks(error->message, "Bearer");
}

static void
test_resolve_file_missing(void **state)
{
	g_autofree gchar *path = g_build_filename(test_dir, "missing.json", NULL);
	g_autoptr(GError) error = NULL;
	g_autofree gchar *name = NULL;
	g_autofree gchar *token = NULL;
	MoSaslSource source;

	token = resolve(path, &source, &name, &error);
	assert_null(token);
	assert_non_null(error);
	mo_assert_str_contains(error->message, path);
	assert_int_equal(source, MO_SASL_SOURCE_FILE);
	assert_string_equal(name, path);
}

/* A stand-in for "mailoauth token ACCOUNT" (MAILOAUTH_CLI): records its arguments, then runs
 * @body. Returns the file its arguments go to. */
static gchar *
fake_cli(const gchar *name, const gchar *body)
{
	g_autofree gchar *script = g_build_filename(test_dir, name, NULL);
	gchar *args = g_strdup_printf("%s.args", script);
	g_autofree gchar *text =
		g_strdup_printf("#!/bin/sh\nprintf '%%s\\n' \"$@\" > '%s'\n%s\n", args, body);

	g_unlink(args);
	mo_test_write_file(script, text);
	if (g_chmod(script, 0755) != 0)
		fail_msg("cannot chmod %s: %s", script, g_strerror(errno));
	g_setenv("MAILOAUTH_CLI", script, TRUE);
	return args;
}

static gchar *
read_args(const gchar *args)
{
	gchar *text = NULL;

	if (!g_file_get_contents(args, &text, NULL, NULL))
		return NULL;
	return text;
}

static void
test_resolve_keyring(void **state)
{
	g_autofree gchar *args = fake_cli("cli-ok", "printf 'kr-token\\n'");
	g_autoptr(GError) error = NULL;
	g_autofree gchar *name = NULL;
	g_autofree gchar *token = NULL;
	g_autofree gchar *argv = NULL;
	MoSaslSource source;

	token = resolve("keyring:other@example.org", &source, &name, &error);
	mo_assert_no_error(error);
	/* the newline is not part of the token */
	assert_string_equal(token, "kr-token");
	assert_int_equal(source, MO_SASL_SOURCE_KEYRING);
	assert_string_equal(name, "other@example.org");
	argv = read_args(args);
	assert_string_equal(argv, "token\nother@example.org\n");
}

static void
test_resolve_keyring_default_account(void **state)
{
	g_autofree gchar *args = fake_cli("cli-default", "echo kr-token");
	g_autoptr(GError) error = NULL;
	g_autofree gchar *name = NULL;
	g_autofree gchar *token = NULL;
	g_autofree gchar *argv = NULL;
	MoSaslSource source;

	token = resolve("", &source, &name, &error);
	mo_assert_no_error(error);
	assert_string_equal(token, "kr-token");
	assert_string_equal(name, TEST_USER);
	argv = read_args(args);
	assert_string_equal(argv, "token\n" TEST_USER "\n");
}

/* What the CLI said goes into the SASL error: the error and the command to run next, on one
 * printable line. */
static void
test_resolve_keyring_fails(void **state)
{
	g_autofree gchar *args = fake_cli("cli-fails",
					  "printf 'No account \\033[2Jother@example.org\\n"
					  "Run mailoauth authorize\\n' >&2\nexit 3");
	g_autoptr(GError) error = NULL;
	g_autofree gchar *name = NULL;
	g_autofree gchar *token = NULL;
	MoSaslSource source;

	token = resolve("keyring:other@example.org", &source, &name, &error);
	assert_null(token);
	mo_assert_error(error, MO_ERROR, MO_ERROR_FAILED);
	mo_assert_str_contains(error->message, "other@example.org");
	mo_assert_str_contains(error->message, "No account ?[2Jother@example.org");
	mo_assert_str_lacks(error->message, "\033");
	mo_assert_str_contains(error->message, "other@example.org Run mailoauth authorize");
}

static void
test_resolve_keyring_empty_output(void **state)
{
	g_autofree gchar *args = fake_cli("cli-empty", "exit 0");
	g_autoptr(GError) error = NULL;
	g_autofree gchar *name = NULL;
	g_autofree gchar *token = NULL;
	MoSaslSource source;

	token = resolve("keyring:", &source, &name, &error);
	assert_null(token);
	mo_assert_error(error, MO_ERROR, MO_ERROR_FAILED);
	mo_assert_str_contains(error->message, TEST_USER);
	mo_assert_str_contains(error->message, "mailoauth token failed");
}

static void
test_resolve_keyring_refuses_control_chars(void **state)
{
	g_autofree gchar *args = fake_cli("cli-hostile", "printf 'abc\\001def\\n'");
	g_autoptr(GError) error = NULL;
	g_autofree gchar *name = NULL;
	g_autofree gchar *token = NULL;
	MoSaslSource source;

	token = resolve("keyring:", &source, &name, &error);
	assert_null(token);
	mo_assert_error(error, MO_ERROR, MO_ERROR_INVALID_DATA);
	mo_assert_str_lacks(error->message, "abc");
}

/* The account goes on a command line: one that is not a valid name (an option, a path, a
 * space) is refused before anything runs. */
static void
test_resolve_keyring_bad_account(void **state)
{
	const gchar *bad[] = {"keyring:-h", "keyring:--help", "keyring:a b", "keyring:../x"};
	g_autofree gchar *args = fake_cli("cli-never", "echo kr-token");

	for (guint i = 0; i < G_N_ELEMENTS(bad); i++) {
		g_autoptr(GError) error = NULL;
		g_autofree gchar *name = NULL;
		g_autofree gchar *token = NULL;
		g_autofree gchar *argv = NULL;
		MoSaslSource source;

		token = resolve(bad[i], &source, &name, &error);
		if (token != NULL)
			fail_msg("“%s” accepted", bad[i]);
		mo_assert_error(error, MO_ERROR, MO_ERROR_INVALID_ARGUMENT);
		argv = read_args(args);
		if (argv != NULL)
			fail_msg("the CLI ran for “%s”", bad[i]);
	}
}

/* --- regressions: defects found by these tests, fixed since --- */

/* Messages name the next command to run (DESIGN.md §8); for a token file the message says
 * "sign in again and replace the file" but names no command. */
static void
test_rejection_file_names_command(void **state)
{
	g_autofree gchar *msg = mo_sasl_describe_rejection(TEST_USER,
							   MO_SASL_SOURCE_FILE,
							   "/etc/sasl-tokens/me@example.com",
							   NULL);

	mo_assert_str_contains(msg, "mailoauth ");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_classify_keyring),
		cmocka_unit_test(test_classify_file),
		cmocka_unit_test(test_classify_token),
		cmocka_unit_test(test_classify_relative_file),
		cmocka_unit_test(test_rejection_keyring),
		cmocka_unit_test(test_rejection_file),
		cmocka_unit_test(test_rejection_token),
		cmocka_unit_test(test_rejection_without_challenge),
		cmocka_unit_test(test_resolve_token_as_is),
		cmocka_unit_test(test_resolve_refuses_control_chars),
		cmocka_unit_test(test_resolve_file),
		cmocka_unit_test(test_resolve_file_user_overrides),
		cmocka_unit_test(test_resolve_file_refuses_control_chars),
		cmocka_unit_test(test_resolve_file_missing),
		cmocka_unit_test(test_resolve_keyring),
		cmocka_unit_test(test_resolve_keyring_default_account),
		cmocka_unit_test(test_resolve_keyring_fails),
		cmocka_unit_test(test_resolve_keyring_empty_output),
		cmocka_unit_test(test_resolve_keyring_refuses_control_chars),
		cmocka_unit_test(test_resolve_keyring_bad_account),
		cmocka_unit_test(test_rejection_file_names_command),
	};
	gint rc;

	mo_test_init();
	test_dir = mo_test_make_tmpdir();
	cmocka_set_message_output(CM_OUTPUT_TAP);
	rc = cmocka_run_group_tests_name("unit/sasl-backend", tests, NULL, NULL);
	mo_test_rm_rf(test_dir);
	g_free(test_dir);
	return rc;
}
