/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "mo-error.h"
#include "mo-pkce.h"
#include "mo-test.h"

/* RFC 7636 appendix B */
#define RFC7636_VERIFIER  "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
#define RFC7636_CHALLENGE "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"

/* RFC 3986 §2.3, what RFC 7636 §4.1 allows in a verifier */
static gboolean
is_unreserved(const gchar *text)
{
	for (const gchar *p = text; *p != '\0'; p++) {
		if (!g_ascii_isalnum(*p) && strchr("-._~", *p) == NULL)
			return FALSE;
	}
	return TRUE;
}

static void
test_base64url_rfc4648_vectors(void **state)
{
	/* RFC 4648 §10, with the padding dropped */
	const struct {
		const gchar *in;
		const gchar *out;
	} vectors[] = {
		{"", ""},
		{"f", "Zg"},
		{"fo", "Zm8"},
		{"foo", "Zm9v"},
		{"foob", "Zm9vYg"},
		{"fooba", "Zm9vYmE"},
		{"foobar", "Zm9vYmFy"},
	};

	for (guint i = 0; i < G_N_ELEMENTS(vectors); i++) {
		g_autofree gchar *text =
			mo_base64url_encode((const guint8 *)vectors[i].in, strlen(vectors[i].in));
		assert_string_equal(text, vectors[i].out);
	}
}

static void
test_base64url_alphabet(void **state)
{
	/* standard base64 gives "+/+/" and "+/8=" for these */
	const guint8 plus_slash[] = {0xfb, 0xff, 0xbf};
	const guint8 padded[] = {0xfb, 0xff};
	guint8 all[256];
	g_autofree gchar *a = mo_base64url_encode(plus_slash, sizeof(plus_slash));
	g_autofree gchar *b = mo_base64url_encode(padded, sizeof(padded));
	g_autofree gchar *c = NULL;

	assert_string_equal(a, "-_-_");
	assert_string_equal(b, "-_8");
	for (guint i = 0; i < sizeof(all); i++)
		all[i] = (guint8)i;
	c = mo_base64url_encode(all, sizeof(all));
	/* ceil(256 * 4 / 3) characters, none of them + / = */
	assert_int_equal(strlen(c), 342);
	mo_assert_str_lacks(c, "+");
	mo_assert_str_lacks(c, "/");
	mo_assert_str_lacks(c, "=");
	assert_true(is_unreserved(c));
}

static void
test_base64url_rfc7636_verifier(void **state)
{
	/* the octets of appendix B give its verifier */
	const guint8 octets[] = {116, 24,  223, 180, 151, 153, 224, 37,	 79,  250, 96,
				 125, 216, 173, 187, 186, 22,  212, 37,	 77,  105, 214,
				 191, 240, 91,	88,  5,	  88,  83,  132, 141, 121};
	g_autofree gchar *text = mo_base64url_encode(octets, sizeof(octets));

	assert_string_equal(text, RFC7636_VERIFIER);
}

static void
test_challenge_rfc7636_vector(void **state)
{
	g_autofree gchar *challenge = mo_pkce_challenge_s256(RFC7636_VERIFIER);

	assert_string_equal(challenge, RFC7636_CHALLENGE);
	assert_int_equal(strlen(challenge), 43);
}

static void
test_challenge_differs_per_verifier(void **state)
{
	g_autofree gchar *a = mo_pkce_challenge_s256(RFC7636_VERIFIER);
	g_autofree gchar *b = mo_pkce_challenge_s256(RFC7636_VERIFIER "x");
	g_autofree gchar *empty = mo_pkce_challenge_s256("");

	assert_string_not_equal(a, b);
	/* SHA-256 of nothing, base64url */
	assert_string_equal(empty, "47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU");
}

static void
test_random_verifier(void **state)
{
	g_autoptr(GError) error = NULL;
	g_autofree gchar *a = mo_random_urlsafe(32, &error);
	g_autofree gchar *b = NULL;

	mo_assert_no_error(error);
	assert_non_null(a);
	b = mo_random_urlsafe(32, &error);
	mo_assert_no_error(error);
	assert_non_null(b);

	/* RFC 7636 §4.1: 43 to 128 unreserved characters; 32 bytes give the minimum */
	assert_int_equal(strlen(a), 43);
	assert_int_equal(strlen(b), 43);
	if (!is_unreserved(a) || !is_unreserved(b))
		fail_msg("not only unreserved characters: %s %s", a, b);
	assert_string_not_equal(a, b);
}

static void
test_random_many_differ(void **state)
{
	g_autoptr(GHashTable) seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);

	for (guint i = 0; i < 200; i++) {
		g_autoptr(GError) error = NULL;
		gchar *text = mo_random_urlsafe(16, &error);

		mo_assert_no_error(error);
		assert_non_null(text);
		assert_int_equal(strlen(text), 22);
		assert_true(is_unreserved(text));
		if (g_hash_table_contains(seen, text))
			fail_msg("%s came twice", text);
		g_hash_table_add(seen, text);
	}
}

static void
test_random_sizes(void **state)
{
	const gsize sizes[] = {0, 1, 2, 3, 48, 64};
	const gsize lengths[] = {0, 2, 3, 4, 64, 86};

	for (guint i = 0; i < G_N_ELEMENTS(sizes); i++) {
		g_autoptr(GError) error = NULL;
		g_autofree gchar *text = mo_random_urlsafe(sizes[i], &error);

		mo_assert_no_error(error);
		assert_non_null(text);
		assert_int_equal(strlen(text), lengths[i]);
		assert_true(is_unreserved(text));
	}
}

static void
test_constant_time_equal(void **state)
{
	assert_true(mo_constant_time_equal("abc", "abc"));
	assert_true(mo_constant_time_equal("", ""));
	assert_true(mo_constant_time_equal(RFC7636_VERIFIER, RFC7636_VERIFIER));

	assert_false(mo_constant_time_equal("abc", "abd"));
	assert_false(mo_constant_time_equal("abc", "Abc"));
	/* a prefix is not equal, in either order */
	assert_false(mo_constant_time_equal("abc", "abcd"));
	assert_false(mo_constant_time_equal("abcd", "abc"));
	assert_false(mo_constant_time_equal("", "a"));
	assert_false(mo_constant_time_equal("a", ""));
	/* high bytes are compared, not sign-extended away */
	assert_false(mo_constant_time_equal("\xc3\xa9", "\xc3\xa8"));

	assert_false(mo_constant_time_equal(NULL, "abc"));
	assert_false(mo_constant_time_equal("abc", NULL));
	assert_false(mo_constant_time_equal(NULL, NULL));
	assert_false(mo_constant_time_equal(NULL, ""));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_base64url_rfc4648_vectors),
		cmocka_unit_test(test_base64url_alphabet),
		cmocka_unit_test(test_base64url_rfc7636_verifier),
		cmocka_unit_test(test_challenge_rfc7636_vector),
		cmocka_unit_test(test_challenge_differs_per_verifier),
		cmocka_unit_test(test_random_verifier),
		cmocka_unit_test(test_random_many_differ),
		cmocka_unit_test(test_random_sizes),
		cmocka_unit_test(test_constant_time_equal),
	};

	mo_test_init();
	cmocka_set_message_output(CM_OUTPUT_TAP);
	return cmocka_run_group_tests_name("unit/pkce", tests, NULL, NULL);
}
