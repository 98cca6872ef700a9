/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <malloc.h>
#include <unistd.h>

#include "mo-error.h"
#include "mo-http.h"
#include "mo-json.h"
#include "mo-test-server.h"
#include "mo-test.h"

#define TEST_SECRET "s3cr+t&x=y%25 z"
/* stands for a token in a response body; looked for in memory handed back to malloc */
#define TEST_BODY_MARKER "at-MARKER-5e1f0a9c"

/* free() and realloc() of this program, in front of glibc's, so that a test can see what the
 * code under test gives back to malloc: while test_watching is set on a thread, every block
 * that thread frees is searched for TEST_BODY_MARKER. realloc() always moves the block then,
 * as glibc does whenever it cannot grow one in place. Not under AddressSanitizer, which has
 * allocator of its own. */
#if defined(__SANITIZE_ADDRESS__)
#define TEST_CAN_WATCH_FREES 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TEST_CAN_WATCH_FREES 0
#endif
#endif
#ifndef TEST_CAN_WATCH_FREES
#define TEST_CAN_WATCH_FREES 1
#endif

static __thread gboolean test_watching;
static __thread guint test_unwiped_frees;

#if TEST_CAN_WATCH_FREES
extern void __libc_free(void *ptr);
extern void *__libc_malloc(size_t size);
extern void *__libc_realloc(void *ptr, size_t size);

static gboolean
test_block_has_marker(const guint8 *block, gsize size)
{
	gsize n = strlen(TEST_BODY_MARKER);

	for (gsize i = 0; i + n <= size; i++) {
		if (block[i] == TEST_BODY_MARKER[0] && memcmp(block + i, TEST_BODY_MARKER, n) == 0)
			return TRUE;
	}
	return FALSE;
}

void
free(void *ptr)
{
	if (ptr != NULL && test_watching && test_block_has_marker(ptr, malloc_usable_size(ptr)))
		test_unwiped_frees++;
	__libc_free(ptr);
}

void *
realloc(void *ptr, size_t size)
{
	void *moved;

	if (!test_watching || ptr == NULL || size == 0)
		return __libc_realloc(ptr, size);
	moved = __libc_malloc(size);
	if (moved == NULL)
		return NULL;
	memcpy(moved, ptr, MIN(size, malloc_usable_size(ptr)));
	free(ptr);
	return moved;
}
#endif

static const MoHttpOptions test_http_options = {.connect_timeout = 2, .timeout = 5};

/* Splits @form at & and the first = of each field, undoes the escaping, and checks that it
 * gives back exactly @pairs: what a server's form parser would see. */
static void
assert_form_decodes_to(const gchar *form, const gchar *const *pairs)
{
	g_auto(GStrv) fields = g_strsplit(form, "&", -1);
	guint n_pairs = 0;

	while (pairs[n_pairs] != NULL)
		n_pairs++;
	if (n_pairs == 0) {
		assert_string_equal(form, "");
		return;
	}
	assert_int_equal(g_strv_length(fields), n_pairs / 2);
	for (guint i = 0; fields[i] != NULL; i++) {
		g_auto(GStrv) kv = g_strsplit(fields[i], "=", 2);
		g_autofree gchar *key = NULL;
		g_autofree gchar *value = NULL;

		assert_int_equal(g_strv_length(kv), 2);
		/* a raw + would be read back as a space, a raw space is not allowed at all */
		mo_assert_str_lacks(fields[i], "+");
		mo_assert_str_lacks(fields[i], " ");
		key = g_uri_unescape_string(kv[0], NULL);
		value = g_uri_unescape_string(kv[1], NULL);
		assert_non_null(key);
		assert_non_null(value);
		assert_string_equal(key, pairs[2 * i]);
		assert_string_equal(value, pairs[2 * i + 1]);
	}
}

static void
test_form_encode_plain(void **state)
{
	const gchar *pairs[] = {"grant_type", "refresh_token", "client_id", "abc-123_x.y~z", NULL};
	g_autofree gchar *form = mo_http_form_encode(pairs);

	assert_string_equal(form, "grant_type=refresh_token&client_id=abc-123_x.y~z");
}

static void
test_form_encode_reserved_characters(void **state)
{
	const gchar *pairs[] = {"client_secret", TEST_SECRET, "k&=+ %", "a b", NULL};
	g_autofree gchar *form = mo_http_form_encode(pairs);

	assert_string_equal(form, "client_secret=s3cr%2Bt%26x%3Dy%2525%20z&k%26%3D%2B%20%25=a%20b");
	assert_form_decodes_to(form, pairs);
}

static void
test_form_encode_unicode(void **state)
{
	const gchar *pairs[] = {"user", "jürgen@example.de", "note", "日本 ☃", NULL};
	g_autofree gchar *form = mo_http_form_encode(pairs);

	/* UTF-8 bytes, percent-encoded: the body is plain ASCII */
	for (const gchar *p = form; *p != '\0'; p++)
		assert_true((guchar)*p < 0x80);
	mo_assert_str_contains(form, "user=j%C3%BCrgen%40example.de");
	assert_form_decodes_to(form, pairs);
}

static void
test_form_encode_empty_values(void **state)
{
	const gchar *pairs[] = {"a", "", "b", "x", "c", "", NULL};
	const gchar *none[] = {NULL};
	g_autofree gchar *form = mo_http_form_encode(pairs);
	g_autofree gchar *empty = mo_http_form_encode(none);

	assert_string_equal(form, "a=&b=x&c=");
	assert_form_decodes_to(form, pairs);
	assert_string_equal(empty, "");
}

static void
test_status_is_transient(void **state)
{
	const guint transient[] = {408, 429, 500, 502, 503, 504, 599};
	const guint permanent[] =
		{0, 100, 200, 204, 301, 400, 401, 403, 404, 407, 409, 428, 499, 600};

	for (guint i = 0; i < G_N_ELEMENTS(transient); i++) {
		if (!mo_http_status_is_transient(transient[i]))
			fail_msg("HTTP %u is not transient", transient[i]);
	}
	for (guint i = 0; i < G_N_ELEMENTS(permanent); i++) {
		if (mo_http_status_is_transient(permanent[i]))
			fail_msg("HTTP %u is transient", permanent[i]);
	}
}

/* Refused URLs: the error must come before any connection, and must not carry the form. */
static void
assert_post_refused(const gchar *url)
{
	const gchar *pairs[] = {"client_secret", TEST_SECRET, NULL};
	g_autoptr(GError) error = NULL;
	g_autoptr(MoHttpResponse) response = NULL;

	response = mo_http_post_form(url, pairs, &test_http_options, &error);
	if (response != NULL)
		fail_msg("POST to %s was made (HTTP %u)", url, response->status);
	mo_assert_error(error, MO_ERROR, MO_ERROR_INVALID_ARGUMENT);
	mo_assert_str_lacks(error->message, "s3cr");
}

static void
test_post_refuses_insecure_urls(void **state)
{
	/* a proxy that records what reaches it: plain-http requests to any host would go there */
	g_autoptr(MoTestServer) proxy = mo_test_server_new(200, NULL, "{}", 2);
	g_autofree gchar *proxy_url = mo_test_server_get_url(proxy, "/");
	g_autofree gchar *ftp_url = mo_test_server_get_url(proxy, "/token");
	g_autofree gchar *ftp = NULL;

	/* same port, other scheme */
	ftp = g_strconcat("ftp", ftp_url + strlen("http"), NULL);
	g_setenv("http_proxy", proxy_url, TRUE);
	g_setenv("HTTP_PROXY", proxy_url, TRUE);
	assert_post_refused("http://example.com/token");
	assert_post_refused("http://127.0.0.1.evil.example/token");
	assert_post_refused("HTTP://mail.example.com/token");
	assert_post_refused(ftp);
	assert_post_refused("file:///etc/passwd");
	assert_post_refused("not a url");
	assert_post_refused("");
	assert_int_equal(mo_test_server_get_n_connections(proxy), 0);
}

/* also after a failed assertion, so that the tests after it reach their servers */
static int
unset_proxy(void **state)
{
	g_unsetenv("http_proxy");
	g_unsetenv("HTTP_PROXY");
	return 0;
}

static void
test_post_form_to_loopback(void **state)
{
	const gchar *pairs[] = {"grant_type", "refresh_token", "client_secret", TEST_SECRET, NULL};
	g_autoptr(MoTestServer) server = mo_test_server_new(200, NULL, "{\"ok\":true}", 11);
	g_autofree gchar *url = mo_test_server_get_url(server, "/token");
	g_autofree gchar *form = mo_http_form_encode(pairs);
	g_autofree gchar *request = NULL;
	g_autofree gchar *body = NULL;
	g_autoptr(GError) error = NULL;
	g_autoptr(MoHttpResponse) response = NULL;

	response = mo_http_post_form(url, pairs, &test_http_options, &error);
	mo_assert_no_error(error);
	assert_non_null(response);
	assert_int_equal(response->status, 200);
	assert_string_equal(response->body, "{\"ok\":true}");
	assert_int_equal(response->body_len, 11);
	mo_assert_int64_equal(response->retry_after, -1);

	assert_int_equal(mo_test_server_get_n_requests(server), 1);
	request = mo_test_server_dup_request(server, 0);
	body = mo_test_server_dup_body(server, 0);
	assert_true(g_str_has_prefix(request, "POST /token HTTP/1.1\r\n"));
	mo_assert_str_contains(request, "Content-Type: application/x-www-form-urlencoded\r\n");
	mo_assert_str_contains(request, "Accept: application/json\r\n");
	mo_assert_str_contains(request, "User-Agent: mailoauth/");
	assert_string_equal(body, form);
}

static void
test_post_form_status_and_retry_after(void **state)
{
	const gchar *pairs[] = {"a", "b", NULL};
	g_autoptr(MoTestServer) server =
		mo_test_server_new(503, "Retry-After: 7\r\n", "{\"error\":\"x\"}", 13);
	g_autoptr(MoTestServer) dated =
		mo_test_server_new(429,
				   "Retry-After: Wed, 21 Oct 2037 07:28:00 GMT\r\n",
				   "slow down",
				   9);
	g_autofree gchar *url = mo_test_server_get_url(server, "/");
	g_autofree gchar *dated_url = mo_test_server_get_url(dated, "/");
	g_autoptr(GError) error = NULL;
	g_autoptr(MoHttpResponse) response = NULL;
	g_autoptr(MoHttpResponse) dated_response = NULL;

	/* an HTTP status is a response for the caller, not an error */
	response = mo_http_post_form(url, pairs, &test_http_options, &error);
	mo_assert_no_error(error);
	assert_int_equal(response->status, 503);
	mo_assert_int64_equal(response->retry_after, 7);
	assert_string_equal(response->body, "{\"error\":\"x\"}");

	dated_response = mo_http_post_form(dated_url, pairs, &test_http_options, &error);
	mo_assert_no_error(error);
	assert_int_equal(dated_response->status, 429);
	mo_assert_int64_equal(dated_response->retry_after, -1);
}

static void
test_post_form_no_redirects(void **state)
{
	const gchar *pairs[] = {"client_secret", TEST_SECRET, NULL};
	g_autoptr(MoTestServer) server = mo_test_server_new(302, "Location: /elsewhere\r\n", "", 0);
	g_autofree gchar *url = mo_test_server_get_url(server, "/token");
	g_autoptr(GError) error = NULL;
	g_autoptr(MoHttpResponse) response = NULL;

	/* a redirect would resend the secret to wherever Location points */
	response = mo_http_post_form(url, pairs, &test_http_options, &error);
	mo_assert_no_error(error);
	assert_int_equal(response->status, 302);
	assert_int_equal(mo_test_server_get_n_requests(server), 1);
}

static void
test_post_form_size_limit(void **state)
{
	const gchar *pairs[] = {"a", "b", NULL};
	g_autofree gchar *big = g_strnfill(MO_JSON_MAX_SIZE + 1, 'x');
	g_autoptr(MoTestServer) at_limit = mo_test_server_new(200, NULL, big, MO_JSON_MAX_SIZE);
	g_autoptr(MoTestServer) over_limit =
		mo_test_server_new(200, NULL, big, MO_JSON_MAX_SIZE + 1);
	g_autofree gchar *at_url = mo_test_server_get_url(at_limit, "/");
	g_autofree gchar *over_url = mo_test_server_get_url(over_limit, "/");
	g_autoptr(GError) error = NULL;
	g_autoptr(MoHttpResponse) response = NULL;
	g_autoptr(MoHttpResponse) too_big = NULL;

	response = mo_http_post_form(at_url, pairs, &test_http_options, &error);
	mo_assert_no_error(error);
	assert_int_equal(response->body_len, MO_JSON_MAX_SIZE);
	assert_int_equal(strlen(response->body), MO_JSON_MAX_SIZE);

	too_big = mo_http_post_form(over_url, pairs, &test_http_options, &error);
	assert_null(too_big);
	mo_assert_error(error, MO_ERROR, MO_ERROR_PROTOCOL);
}

/* Whether free() and realloc() above see what is freed here: not under a sanitizer or
 * valgrind, which bring allocators of their own. */
static gboolean
test_can_watch_frees(void)
{
	gchar *block;
	guint seen;

	if (!TEST_CAN_WATCH_FREES)
		return FALSE;
	block = g_strdup(TEST_BODY_MARKER);
	test_unwiped_frees = 0;
	test_watching = TRUE;
	block = g_realloc(block, 64 * 1024);
	g_free(block);
	test_watching = FALSE;
	seen = test_unwiped_frees;
	test_unwiped_frees = 0;
	/* the block realloc() left and the one freed */
	return seen == 2;
}

/* The body holds the new tokens: neither the blocks it grows out of nor the final one may go
 * back to malloc unwiped. Big enough to arrive in many pieces, with the marker in the first
 * only, so that libcurl's own receive buffer (not ours to wipe) has long moved past it. */
static void
test_post_form_body_copies_wiped(void **state)
{
	const gchar *pairs[] = {"a", "b", NULL};
	gsize len = MO_JSON_MAX_SIZE - 1000;
	g_autofree gchar *big = g_strnfill(len, 'x');
	g_autoptr(MoTestServer) server = NULL;
	g_autofree gchar *url = NULL;
	g_autoptr(GError) error = NULL;
	MoHttpResponse *response;
	gsize body_len;
	guint unwiped;

	if (!test_can_watch_frees())
		skip();
	memcpy(big, TEST_BODY_MARKER, strlen(TEST_BODY_MARKER));
	server = mo_test_server_new(200, NULL, big, len);
	url = mo_test_server_get_url(server, "/token");

	test_unwiped_frees = 0;
	test_watching = TRUE;
	response = mo_http_post_form(url, pairs, &test_http_options, &error);
	body_len = response != NULL ? response->body_len : 0;
	mo_http_response_free(response);
	test_watching = FALSE;
	unwiped = test_unwiped_frees;

	mo_assert_no_error(error);
	assert_int_equal(body_len, len);
	assert_int_equal(unwiped, 0);
}

static void
test_post_form_connection_refused(void **state)
{
	const gchar *pairs[] = {"client_secret", TEST_SECRET, NULL};
	guint16 port = 0;
	gint fd = mo_test_refusing_socket_new(&port);
	g_autofree gchar *url = g_strdup_printf("http://127.0.0.1:%u/token", port);
	g_autoptr(GError) error = NULL;
	g_autoptr(MoHttpResponse) response = NULL;

	response = mo_http_post_form(url, pairs, &test_http_options, &error);
	close(fd);
	assert_null(response);
	mo_assert_error(error, MO_ERROR, MO_ERROR_TRANSIENT);
	mo_assert_str_contains(error->message, url);
	mo_assert_str_lacks(error->message, "s3cr");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_form_encode_plain),
		cmocka_unit_test(test_form_encode_reserved_characters),
		cmocka_unit_test(test_form_encode_unicode),
		cmocka_unit_test(test_form_encode_empty_values),
		cmocka_unit_test(test_status_is_transient),
		cmocka_unit_test_teardown(test_post_refuses_insecure_urls, unset_proxy),
		cmocka_unit_test(test_post_form_to_loopback),
		cmocka_unit_test(test_post_form_status_and_retry_after),
		cmocka_unit_test(test_post_form_no_redirects),
		cmocka_unit_test(test_post_form_size_limit),
		cmocka_unit_test(test_post_form_body_copies_wiped),
		cmocka_unit_test(test_post_form_connection_refused),
	};

	mo_test_init();
	cmocka_set_message_output(CM_OUTPUT_TAP);
	return cmocka_run_group_tests_name("unit/http", tests, NULL, NULL);
}
