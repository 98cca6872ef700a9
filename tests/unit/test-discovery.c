/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <unistd.h>

#include "mo-authorize.h"
#include "mo-error.h"
#include "mo-http.h"
#include "mo-json.h"
#include "mo-test-server.h"
#include "mo-test.h"

#define WELL_KNOWN "/.well-known/openid-configuration"

static const MoHttpOptions test_http_options = {.connect_timeout = 2, .timeout = 5};

/* A server that answers 404 unless a document is queued, and its base URL. */
typedef struct {
	MoTestServer *server;
	gchar *base; /* http://127.0.0.1:PORT, no trailing slash */
	MoApp *app;
} DiscoveryFixture;

static int
discovery_setup(void **state)
{
	DiscoveryFixture *fx = g_new0(DiscoveryFixture, 1);

	fx->server = mo_test_server_new(404, NULL, "Not Found", 9);
	fx->base = mo_test_server_get_url(fx->server, "");
	fx->app = mo_app_new("test-app", MO_PROVIDER_CUSTOM);
	fx->app->client_id = g_strdup("test-client");
	*state = fx;
	return 0;
}

static int
discovery_teardown(void **state)
{
	DiscoveryFixture *fx = *state;

	mo_test_server_free(fx->server);
	g_free(fx->base);
	mo_app_free(fx->app);
	g_free(fx);
	return 0;
}

/* A discovery document naming @issuer; the endpoints are on idp.example.com unless the
 * one given is not NULL. */
static gchar *
document(const gchar *issuer, const gchar *authorize, const gchar *token, const gchar *device)
{
	return g_strdup_printf(
		"{\"issuer\":\"%s\",\"authorization_endpoint\":\"%s\",\"token_endpoint\":\"%s\","
		"\"device_authorization_endpoint\":\"%s\",\"jwks_uri\":"
		"\"https://idp.example.com/jwks\",\"response_types_supported\":[\"code\"],"
		"\"code_challenge_methods_supported\":[\"S256\"],"
		"\"authorization_response_iss_parameter_supported\":true}",
		issuer,
		authorize != NULL ? authorize : "https://idp.example.com/authorize",
		token != NULL ? token : "https://idp.example.com/token",
		device != NULL ? device : "https://idp.example.com/device");
}

static void
queue_document(DiscoveryFixture *fx, const gchar *body)
{
	mo_test_server_queue(fx->server, 200, NULL, body, strlen(body));
}

static void
assert_discovery_fails(DiscoveryFixture *fx, const gchar *issuer, GQuark domain, gint code)
{
	g_autoptr(GError) error = NULL;

	if (mo_discover_endpoints(fx->app, issuer, &test_http_options, &error))
		fail_msg("discovery at %s succeeded", issuer);
	mo_assert_error(error, domain, code);
}

static void
assert_discovery_refused(DiscoveryFixture *fx, const gchar *issuer)
{
	g_autoptr(GError) error = NULL;

	if (mo_discover_endpoints(fx->app, issuer, &test_http_options, &error))
		fail_msg("discovery at %s succeeded", issuer);
	assert_non_null(error);
}

static void
test_discovery_good(void **state)
{
	DiscoveryFixture *fx = *state;
	g_autofree gchar *body = document(fx->base, NULL, NULL, NULL);
	g_autoptr(GError) error = NULL;
	g_autofree gchar *req = NULL;

	queue_document(fx, body);
	assert_true(mo_discover_endpoints(fx->app, fx->base, &test_http_options, &error));
	mo_assert_no_error(error);
	assert_string_equal(fx->app->authorize_endpoint, "https://idp.example.com/authorize");
	assert_string_equal(fx->app->token_endpoint, "https://idp.example.com/token");
	assert_string_equal(fx->app->device_endpoint, "https://idp.example.com/device");
	assert_string_equal(fx->app->issuer, fx->base);

	/* one GET of the well-known document, no body */
	assert_int_equal(mo_test_server_get_n_requests(fx->server), 1);
	req = mo_test_server_dup_request(fx->server, 0);
	assert_true(g_str_has_prefix(req, "GET " WELL_KNOWN " HTTP/1.1\r\n"));
	assert_true(g_str_has_suffix(req, "\r\n\r\n"));
}

static void
test_discovery_issuer_with_path(void **state)
{
	DiscoveryFixture *fx = *state;
	g_autofree gchar *issuer = g_strconcat(fx->base, "/realms/mail", NULL);
	g_autofree gchar *body = document(issuer, NULL, NULL, NULL);
	g_autoptr(GError) error = NULL;
	g_autofree gchar *req = NULL;

	queue_document(fx, body);
	assert_true(mo_discover_endpoints(fx->app, issuer, &test_http_options, &error));
	mo_assert_no_error(error);
	assert_string_equal(fx->app->issuer, issuer);
	req = mo_test_server_dup_request(fx->server, 0);
	/* OpenID Connect Discovery §4.1: appended to the path */
	assert_true(g_str_has_prefix(req, "GET /realms/mail" WELL_KNOWN " HTTP/1.1\r\n"));
}

static void
test_discovery_explicit_endpoints_kept(void **state)
{
	DiscoveryFixture *fx = *state;
	g_autofree gchar *body = document(fx->base, NULL, NULL, NULL);
	g_autoptr(GError) error = NULL;

	fx->app->token_endpoint = g_strdup("https://mine.example.com/token");
	fx->app->device_endpoint = g_strdup("https://mine.example.com/device");
	queue_document(fx, body);
	assert_true(mo_discover_endpoints(fx->app, fx->base, &test_http_options, &error));
	mo_assert_no_error(error);
	assert_string_equal(fx->app->token_endpoint, "https://mine.example.com/token");
	assert_string_equal(fx->app->device_endpoint, "https://mine.example.com/device");
	assert_string_equal(fx->app->authorize_endpoint, "https://idp.example.com/authorize");
	assert_string_equal(fx->app->issuer, fx->base);
}

static void
test_discovery_optional_members(void **state)
{
	DiscoveryFixture *fx = *state;
	g_autofree gchar *body = g_strdup_printf(
		"{\"issuer\":\"%s\",\"authorization_endpoint\":\"https://idp.example.com/a\","
		"\"token_endpoint\":\"https://idp.example.com/t\"}",
		fx->base);
	g_autoptr(GError) error = NULL;

	queue_document(fx, body);
	assert_true(mo_discover_endpoints(fx->app, fx->base, &test_http_options, &error));
	mo_assert_no_error(error);
	assert_string_equal(fx->app->authorize_endpoint, "https://idp.example.com/a");
	assert_string_equal(fx->app->token_endpoint, "https://idp.example.com/t");
	/* no device flow there */
	assert_null(fx->app->device_endpoint);
}

static void
test_discovery_issuer_mismatch(void **state)
{
	DiscoveryFixture *fx = *state;
	g_autofree gchar *evil = document("https://evil.example.com", NULL, NULL, NULL);
	g_autofree gchar *prefix = g_strconcat(fx->base, "/other", NULL);
	g_autofree gchar *other_path = document(prefix, NULL, NULL, NULL);
	g_autofree gchar *none = g_strdup(
		"{\"authorization_endpoint\":\"https://idp.example.com/a\",\"token_endpoint\":"
		"\"https://idp.example.com/t\"}");
	g_autofree gchar *null = g_strdup(
		"{\"issuer\":null,\"authorization_endpoint\":\"https://idp.example.com/a\"}");

	/* OpenID Connect Discovery §4.3: another issuer's endpoints are a mix-up */
	queue_document(fx, evil);
	assert_discovery_fails(fx, fx->base, MO_ERROR, MO_ERROR_PROTOCOL);
	queue_document(fx, other_path);
	assert_discovery_fails(fx, fx->base, MO_ERROR, MO_ERROR_PROTOCOL);
	queue_document(fx, none);
	assert_discovery_fails(fx, fx->base, MO_ERROR, MO_ERROR_PROTOCOL);
	queue_document(fx, null);
	assert_discovery_fails(fx, fx->base, MO_ERROR, MO_ERROR_PROTOCOL);

	/* nothing was taken from them */
	assert_null(fx->app->authorize_endpoint);
	assert_null(fx->app->token_endpoint);
	assert_null(fx->app->device_endpoint);
	assert_null(fx->app->issuer);
	assert_int_equal(mo_test_server_get_n_requests(fx->server), 4);
}

static void
test_discovery_trailing_slash(void **state)
{
	DiscoveryFixture *fx = *state;
	g_autofree gchar *with_slash = g_strconcat(fx->base, "/", NULL);
	g_autofree gchar *doc_plain = document(fx->base, NULL, NULL, NULL);
	g_autofree gchar *doc_slash = document(with_slash, NULL, NULL, NULL);
	g_autoptr(MoApp) app2 = mo_app_new("test-app-2", MO_PROVIDER_CUSTOM);
	g_autoptr(GError) error = NULL;
	g_autofree gchar *req0 = NULL;
	g_autofree gchar *req1 = NULL;

	/* the issuer given with a slash, the document's without */
	queue_document(fx, doc_plain);
	assert_true(mo_discover_endpoints(fx->app, with_slash, &test_http_options, &error));
	mo_assert_no_error(error);
	assert_string_equal(fx->app->issuer, fx->base);
	assert_string_equal(fx->app->token_endpoint, "https://idp.example.com/token");

	/* both with a slash: the document's issuer is kept as it is, for comparing iss */
	queue_document(fx, doc_slash);
	assert_true(mo_discover_endpoints(app2, with_slash, &test_http_options, &error));
	mo_assert_no_error(error);
	assert_string_equal(app2->issuer, with_slash);

	/* no "//.well-known" */
	req0 = mo_test_server_dup_request(fx->server, 0);
	req1 = mo_test_server_dup_request(fx->server, 1);
	assert_true(g_str_has_prefix(req0, "GET " WELL_KNOWN " HTTP/1.1\r\n"));
	assert_true(g_str_has_prefix(req1, "GET " WELL_KNOWN " HTTP/1.1\r\n"));
}

static void
test_discovery_insecure_endpoints_refused(void **state)
{
	DiscoveryFixture *fx = *state;
	const gchar *bad = "http://idp.example.com/x";
	g_autofree gchar *authorize = document(fx->base, bad, NULL, NULL);
	g_autofree gchar *token = document(fx->base, NULL, bad, NULL);
	g_autofree gchar *device = document(fx->base, NULL, NULL, bad);
	g_autofree gchar *script = document(fx->base, "javascript:alert(1)", NULL, NULL);
	g_autoptr(MoApp) app2 = mo_app_new("test-app-2", MO_PROVIDER_CUSTOM);
	g_autoptr(GError) error = NULL;
	g_autofree gchar *loopback = NULL;

	queue_document(fx, authorize);
	assert_discovery_refused(fx, fx->base);
	queue_document(fx, token);
	assert_discovery_refused(fx, fx->base);
	queue_document(fx, device);
	assert_discovery_refused(fx, fx->base);
	queue_document(fx, script);
	assert_discovery_refused(fx, fx->base);
	/* (endpoints read before the bad one may have been filled in; the caller drops the app
	 * on failure) */
	assert_null(fx->app->issuer);

	/* plain http to this machine is fine (the server here is one) */
	loopback = document(fx->base, "http://127.0.0.1:9/a", "http://localhost:9/t", NULL);
	queue_document(fx, loopback);
	assert_true(mo_discover_endpoints(app2, fx->base, &test_http_options, &error));
	mo_assert_no_error(error);
	assert_string_equal(app2->authorize_endpoint, "http://127.0.0.1:9/a");
	assert_string_equal(app2->token_endpoint, "http://localhost:9/t");
}

static void
test_discovery_insecure_issuer_refused(void **state)
{
	DiscoveryFixture *fx = *state;

	/* refused before anything is fetched */
	assert_discovery_fails(fx, "http://idp.example.com", MO_ERROR, MO_ERROR_INVALID_ARGUMENT);
	assert_discovery_fails(fx, "idp.example.com", MO_ERROR, MO_ERROR_INVALID_ARGUMENT);
	assert_discovery_fails(fx, NULL, MO_ERROR, MO_ERROR_INVALID_ARGUMENT);
	assert_int_equal(mo_test_server_get_n_connections(fx->server), 0);
}

static void
test_discovery_http_errors(void **state)
{
	DiscoveryFixture *fx = *state;

	/* the default answer is 404 */
	assert_discovery_fails(fx, fx->base, MO_ERROR, MO_ERROR_PROTOCOL);
	mo_test_server_queue(fx->server, 503, NULL, "busy", 4);
	assert_discovery_fails(fx, fx->base, MO_ERROR, MO_ERROR_TRANSIENT);
	mo_test_server_queue(fx->server, 302, "Location: https://evil.example.com/\r\n", "", 0);
	assert_discovery_fails(fx, fx->base, MO_ERROR, MO_ERROR_PROTOCOL);
	/* no retries, no redirects followed */
	assert_int_equal(mo_test_server_get_n_requests(fx->server), 3);
	assert_null(fx->app->issuer);
}

static void
test_discovery_garbage(void **state)
{
	DiscoveryFixture *fx = *state;
	g_autofree gchar *wrong_type =
		g_strdup_printf("{\"issuer\":\"%s\",\"authorization_endpoint\":42}", fx->base);
	const gchar *garbage[] = {
		"<html>Sign in</html>",
		"",
		"[]",
		"{\"issuer\":",
		"{\"issuer\":42}",
	};

	for (guint i = 0; i < G_N_ELEMENTS(garbage); i++) {
		queue_document(fx, garbage[i]);
		assert_discovery_refused(fx, fx->base);
	}
	queue_document(fx, wrong_type);
	assert_discovery_refused(fx, fx->base);
	assert_null(fx->app->authorize_endpoint);
	assert_null(fx->app->issuer);
}

/* --- mo_http_get, discovery's only transport --- */

static void
test_http_get(void **state)
{
	const gchar *body = "{\"issuer\":\"x\"}";
	g_autoptr(MoTestServer) server =
		mo_test_server_new(200, "Retry-After: 7\r\n", body, strlen(body));
	g_autofree gchar *url = mo_test_server_get_url(server, "/doc?a=1");
	g_autoptr(GError) error = NULL;
	g_autoptr(MoHttpResponse) response = mo_http_get(url, &test_http_options, &error);
	g_autofree gchar *req = NULL;

	mo_assert_no_error(error);
	assert_non_null(response);
	assert_int_equal(response->status, 200);
	assert_int_equal(response->body_len, strlen(body));
	assert_string_equal(response->body, body);
	mo_assert_int64_equal(response->retry_after, 7);

	req = mo_test_server_dup_request(server, 0);
	assert_true(g_str_has_prefix(req, "GET /doc?a=1 HTTP/1.1\r\n"));
	mo_assert_str_contains(req, "\r\nAccept: application/json\r\n");
	mo_assert_str_lacks(req, "Content-Length");
	mo_assert_str_lacks(req, "Content-Type");
}

static void
test_http_get_status_is_a_response(void **state)
{
	g_autoptr(MoTestServer) server = mo_test_server_new(404, NULL, "gone", 4);
	g_autofree gchar *url = mo_test_server_get_url(server, "/doc");
	g_autoptr(GError) error = NULL;
	g_autoptr(MoHttpResponse) response = mo_http_get(url, &test_http_options, &error);

	/* the caller classifies statuses */
	mo_assert_no_error(error);
	assert_non_null(response);
	assert_int_equal(response->status, 404);
	assert_string_equal(response->body, "gone");
	mo_assert_int64_equal(response->retry_after, -1);
}

static void
test_http_get_refused(void **state)
{
	const gchar *bad[] = {"http://example.com/doc", "file:///etc/passwd", "not a url"};

	for (guint i = 0; i < G_N_ELEMENTS(bad); i++) {
		g_autoptr(GError) error = NULL;
		g_autoptr(MoHttpResponse) response =
			mo_http_get(bad[i], &test_http_options, &error);
		assert_null(response);
		mo_assert_error(error, MO_ERROR, MO_ERROR_INVALID_ARGUMENT);
	}
}

static void
test_http_get_connection_refused(void **state)
{
	guint16 port = 0;
	gint fd = mo_test_refusing_socket_new(&port);
	g_autofree gchar *url = g_strdup_printf("http://127.0.0.1:%u/doc", port);
	g_autoptr(GError) error = NULL;
	g_autoptr(MoHttpResponse) response = mo_http_get(url, &test_http_options, &error);

	close(fd);
	assert_null(response);
	mo_assert_error(error, MO_ERROR, MO_ERROR_TRANSIENT);
}

static void
test_http_get_too_large(void **state)
{
	gsize len = MO_JSON_MAX_SIZE + 1;
	g_autofree gchar *body = g_strnfill(len, 'x');
	g_autoptr(MoTestServer) server = mo_test_server_new(200, NULL, body, len);
	g_autofree gchar *url = mo_test_server_get_url(server, "/doc");
	g_autoptr(GError) error = NULL;
	g_autoptr(MoHttpResponse) response = mo_http_get(url, &test_http_options, &error);

	assert_null(response);
	mo_assert_error(error, MO_ERROR, MO_ERROR_PROTOCOL);
}

/* --- regressions: defects found by these tests, fixed since --- */

/* What the provider's document holds is MO_ERROR_PROTOCOL (exit 1), as for token
 * responses: not MO_ERROR_INVALID_DATA ("a stored item or a token file") for garbage or a
 * member of the wrong type, nor MO_ERROR_INVALID_ARGUMENT ("the user's input is wrong",
 * exit 2) for an insecure endpoint in it. */
static void
test_discovery_errors_are_protocol_errors(void **state)
{
	DiscoveryFixture *fx = *state;
	g_autofree gchar *insecure = document(fx->base, NULL, "http://idp.example.com/t", NULL);
	g_autofree gchar *wrong_type =
		g_strdup_printf("{\"issuer\":\"%s\",\"authorization_endpoint\":42}", fx->base);

	queue_document(fx, "<html>Sign in</html>");
	assert_discovery_fails(fx, fx->base, MO_ERROR, MO_ERROR_PROTOCOL);
	queue_document(fx, wrong_type);
	assert_discovery_fails(fx, fx->base, MO_ERROR, MO_ERROR_PROTOCOL);
	queue_document(fx, insecure);
	assert_discovery_fails(fx, fx->base, MO_ERROR, MO_ERROR_PROTOCOL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_discovery_good,
						discovery_setup,
						discovery_teardown),
		cmocka_unit_test_setup_teardown(test_discovery_issuer_with_path,
						discovery_setup,
						discovery_teardown),
		cmocka_unit_test_setup_teardown(test_discovery_explicit_endpoints_kept,
						discovery_setup,
						discovery_teardown),
		cmocka_unit_test_setup_teardown(test_discovery_optional_members,
						discovery_setup,
						discovery_teardown),
		cmocka_unit_test_setup_teardown(test_discovery_issuer_mismatch,
						discovery_setup,
						discovery_teardown),
		cmocka_unit_test_setup_teardown(test_discovery_trailing_slash,
						discovery_setup,
						discovery_teardown),
		cmocka_unit_test_setup_teardown(test_discovery_insecure_endpoints_refused,
						discovery_setup,
						discovery_teardown),
		cmocka_unit_test_setup_teardown(test_discovery_insecure_issuer_refused,
						discovery_setup,
						discovery_teardown),
		cmocka_unit_test_setup_teardown(test_discovery_http_errors,
						discovery_setup,
						discovery_teardown),
		cmocka_unit_test_setup_teardown(test_discovery_garbage,
						discovery_setup,
						discovery_teardown),
		cmocka_unit_test(test_http_get),
		cmocka_unit_test(test_http_get_status_is_a_response),
		cmocka_unit_test(test_http_get_refused),
		cmocka_unit_test(test_http_get_connection_refused),
		cmocka_unit_test(test_http_get_too_large),
		cmocka_unit_test_setup_teardown(test_discovery_errors_are_protocol_errors,
						discovery_setup,
						discovery_teardown),
	};

	mo_test_init();
	cmocka_set_message_output(CM_OUTPUT_TAP);
	return cmocka_run_group_tests_name("unit/discovery", tests, NULL, NULL);
}
