/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "mo-authorize.h"
#include "mo-error.h"
#include "mo-test-server.h"
#include "mo-test.h"

#define DEVICE_GRANT_TYPE "urn:ietf:params:oauth:grant-type:device_code"
#define TOKEN_BODY	  "{\"access_token\":\"a\",\"refresh_token\":\"r\",\"expires_in\":3600}"
#define PENDING_BODY                                                                               \
	"{\"error\":\"authorization_pending\",\"error_description\":\"AADSTS70016: OAuth 2.0 "     \
	"device flow error. Authorization is pending.\"}"
#define SLOW_DOWN_BODY "{\"error\":\"slow_down\"}"

static const MoHttpOptions test_http_options = {.connect_timeout = 2, .timeout = 5};

/* --- parsing the device authorization response --- */

static MoDeviceAuth *
parse(guint status, const gchar *body, GError **error)
{
	return mo_device_parse_response(status, body, strlen(body), error);
}

static MoDeviceAuth *
parse_ok(const gchar *body)
{
	g_autoptr(GError) error = NULL;
	MoDeviceAuth *device = parse(200, body, &error);

	mo_assert_no_error(error);
	assert_non_null(device);
	return device;
}

static void
assert_parse_fails(guint status, const gchar *body, GQuark domain, gint code)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(MoDeviceAuth) device = parse(status, body, &error);

	if (device != NULL)
		fail_msg("HTTP %u %s was accepted", status, body);
	mo_assert_error(error, domain, code);
}

/* refused, whatever the error says */
static void
assert_parse_refused(const gchar *body)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(MoDeviceAuth) device = parse(200, body, &error);

	if (device != NULL)
		fail_msg("%s was accepted", body);
	assert_non_null(error);
}

static void
test_parse_good_response(void **state)
{
	g_autoptr(MoDeviceAuth) device =
		parse_ok("{\"device_code\":\"GmRhmhcxhwAzkoEqiMEg_DnyEysNkuNhszIySk9eS\","
			 "\"user_code\":\"WDJB-MJHT\","
			 "\"verification_uri\":\"https://example.com/device\","
			 "\"verification_uri_complete\":\"https://example.com/device?user_code="
			 "WDJB-MJHT\",\"expires_in\":1800,\"interval\":5,"
			 "\"message\":\"To sign in, use a web browser\"}");

	assert_string_equal(device->device_code, "GmRhmhcxhwAzkoEqiMEg_DnyEysNkuNhszIySk9eS");
	assert_string_equal(device->user_code, "WDJB-MJHT");
	assert_string_equal(device->verification_uri, "https://example.com/device");
	assert_string_equal(device->verification_uri_complete,
			    "https://example.com/device?user_code=WDJB-MJHT");
	mo_assert_int64_equal(device->expires_in, 1800);
	mo_assert_int64_equal(device->interval, 5);
}

static void
test_parse_google_verification_url(void **state)
{
	g_autoptr(MoDeviceAuth) device =
		parse_ok("{\"device_code\":\"AH-1Ng\",\"user_code\":\"GQVQ-JKEC\","
			 "\"verification_url\":\"https://www.google.com/device\","
			 "\"expires_in\":1800,\"interval\":5}");
	g_autoptr(MoDeviceAuth) both =
		parse_ok("{\"device_code\":\"d\",\"user_code\":\"U\","
			 "\"verification_uri\":\"https://example.com/rfc\","
			 "\"verification_url\":\"https://example.com/legacy\"}");

	assert_string_equal(device->verification_uri, "https://www.google.com/device");
	assert_null(device->verification_uri_complete);
	/* the RFC 8628 name wins */
	assert_string_equal(both->verification_uri, "https://example.com/rfc");
}

static void
test_parse_defaults(void **state)
{
	g_autoptr(MoDeviceAuth) device = parse_ok(
		"{\"device_code\":\"d\",\"user_code\":\"U\",\"verification_uri\":\"https://e.com/"
		"d\"}");
	g_autoptr(MoDeviceAuth) zero =
		parse_ok("{\"device_code\":\"d\",\"user_code\":\"U\",\"verification_uri\":"
			 "\"https://e.com/d\",\"expires_in\":0,\"interval\":0}");
	g_autoptr(MoDeviceAuth) strings =
		parse_ok("{\"device_code\":\"d\",\"user_code\":\"U\",\"verification_uri\":"
			 "\"https://e.com/d\",\"expires_in\":\"900\",\"interval\":\"7\"}");

	/* RFC 8628 §3.2: no interval means 5 s */
	mo_assert_int64_equal(device->interval, MO_DEVICE_DEFAULT_INTERVAL);
	mo_assert_int64_equal(device->interval, 5);
	assert_true(device->expires_in > 0);
	mo_assert_int64_equal(zero->interval, 5);
	assert_true(zero->expires_in > 0);
	mo_assert_int64_equal(strings->expires_in, 900);
	mo_assert_int64_equal(strings->interval, 7);
}

static void
test_parse_clamped(void **state)
{
	g_autoptr(MoDeviceAuth) slow =
		parse_ok("{\"device_code\":\"d\",\"user_code\":\"U\",\"verification_uri\":"
			 "\"https://e.com/d\",\"expires_in\":86400,\"interval\":3600}");
	g_autoptr(MoDeviceAuth) huge =
		parse_ok("{\"device_code\":\"d\",\"user_code\":\"U\",\"verification_uri\":"
			 "\"https://e.com/d\",\"expires_in\":9223372036854775807,"
			 "\"interval\":9223372036854775807}");

	/* a server cannot make us wait for hours, nor overflow the deadline */
	assert_in_range(slow->interval, 1, 60);
	assert_in_range(slow->expires_in, 1, 3600);
	assert_in_range(huge->interval, 1, 60);
	assert_in_range(huge->expires_in, 1, 3600);
	mo_assert_int64_equal(huge->interval, 60);
	mo_assert_int64_equal(huge->expires_in, 3600);
}

static void
test_parse_missing_members(void **state)
{
	assert_parse_fails(200,
			   "{\"user_code\":\"U\",\"verification_uri\":\"https://e.com/d\"}",
			   MO_ERROR,
			   MO_ERROR_PROTOCOL);
	assert_parse_fails(200,
			   "{\"device_code\":\"d\",\"verification_uri\":\"https://e.com/d\"}",
			   MO_ERROR,
			   MO_ERROR_PROTOCOL);
	assert_parse_fails(200,
			   "{\"device_code\":\"d\",\"user_code\":\"U\"}",
			   MO_ERROR,
			   MO_ERROR_PROTOCOL);
	assert_parse_fails(200,
			   "{\"device_code\":\"\",\"user_code\":\"U\",\"verification_uri\":"
			   "\"https://e.com/d\"}",
			   MO_ERROR,
			   MO_ERROR_PROTOCOL);
	assert_parse_fails(200,
			   "{\"device_code\":\"d\",\"user_code\":\"\",\"verification_uri\":"
			   "\"https://e.com/d\"}",
			   MO_ERROR,
			   MO_ERROR_PROTOCOL);
	assert_parse_fails(200,
			   "{\"device_code\":null,\"user_code\":\"U\",\"verification_uri\":"
			   "\"https://e.com/d\"}",
			   MO_ERROR,
			   MO_ERROR_PROTOCOL);
	assert_parse_refused("{}");
	assert_parse_refused("");
	assert_parse_refused("<html>Sign in</html>");
	assert_parse_refused("[\"device_code\"]");
	assert_parse_refused("{\"device_code\":42,\"user_code\":\"U\",\"verification_uri\":"
			     "\"https://e.com/d\"}");
}

static void
test_parse_hostile_user_code(void **state)
{
	g_autofree gchar *longest = g_strnfill(64, 'A');
	g_autofree gchar *too_long = g_strnfill(65, 'A');
	g_autofree gchar *body_longest =
		g_strdup_printf("{\"device_code\":\"d\",\"user_code\":\"%s\",\"verification_uri\":"
				"\"https://e.com/d\"}",
				longest);
	g_autofree gchar *body_too_long =
		g_strdup_printf("{\"device_code\":\"d\",\"user_code\":\"%s\",\"verification_uri\":"
				"\"https://e.com/d\"}",
				too_long);
	g_autoptr(MoDeviceAuth) device = parse_ok(body_longest);
	const gchar *hostile[] = {
		"ABCD\\u001b[2JEFGH", /* an escape sequence that clears the terminal */
		"ABCD\\nEFGH",
		"ABCD\\rEFGH",
		"ABCD EFGH",
		"ABCD\\u0007",
		"ABCD\\u007f",
		"ABCD\\u009b2J", /* C1 CSI, as UTF-8 */
	};

	assert_string_equal(device->user_code, longest);
	assert_parse_fails(200, body_too_long, MO_ERROR, MO_ERROR_PROTOCOL);
	for (guint i = 0; i < G_N_ELEMENTS(hostile); i++) {
		g_autofree gchar *body = g_strdup_printf(
			"{\"device_code\":\"d\",\"user_code\":\"%s\",\"verification_uri\":"
			"\"https://e.com/d\"}",
			hostile[i]);
		assert_parse_fails(200, body, MO_ERROR, MO_ERROR_PROTOCOL);
	}
}

static void
test_parse_hostile_verification_uri(void **state)
{
	const gchar *hostile[] = {
		"javascript:alert(1)",
		"http://evil.example.com/device",
		"http://localhost.evil.example.com/device",
		"http://127.0.0.1.evil.example.com/device",
		"file:///etc/passwd",
		"data:text/html,<script>alert(1)</script>",
		"//evil.example.com/device",
		"/device",
		"",
	};

	for (guint i = 0; i < G_N_ELEMENTS(hostile); i++) {
		g_autofree gchar *body = g_strdup_printf(
			"{\"device_code\":\"d\",\"user_code\":\"U\",\"verification_uri\":\"%s\"}",
			hostile[i]);
		g_autofree gchar *legacy = g_strdup_printf(
			"{\"device_code\":\"d\",\"user_code\":\"U\",\"verification_url\":\"%s\"}",
			hostile[i]);
		assert_parse_refused(body);
		assert_parse_refused(legacy);
	}
}

static void
test_parse_loopback_http_uri(void **state)
{
	g_autoptr(MoDeviceAuth) device =
		parse_ok("{\"device_code\":\"d\",\"user_code\":\"U\","
			 "\"verification_uri\":\"http://127.0.0.1:8080/device\","
			 "\"verification_uri_complete\":\"http://localhost:8080/device?c=U\"}");

	assert_string_equal(device->verification_uri, "http://127.0.0.1:8080/device");
	assert_string_equal(device->verification_uri_complete, "http://localhost:8080/device?c=U");
}

static void
test_parse_hostile_uri_complete_dropped(void **state)
{
	const gchar *hostile[] = {
		"javascript:alert(1)",
		"http://evil.example.com/device?user_code=U",
		"data:text/html,x",
		"not a url",
		"",
	};

	for (guint i = 0; i < G_N_ELEMENTS(hostile); i++) {
		g_autofree gchar *body = g_strdup_printf(
			"{\"device_code\":\"d\",\"user_code\":\"U\","
			"\"verification_uri\":\"https://e.com/d\",\"verification_uri_complete\":"
			"\"%s\"}",
			hostile[i]);
		g_autoptr(MoDeviceAuth) device = parse_ok(body);

		/* not fatal: the user types the code at verification_uri instead */
		assert_string_equal(device->verification_uri, "https://e.com/d");
		if (device->verification_uri_complete != NULL)
			fail_msg("verification_uri_complete %s kept",
				 device->verification_uri_complete);
	}
}

static void
test_parse_oauth_error(void **state)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(MoDeviceAuth) device =
		parse(400,
		      "{\"error\":\"invalid_client\",\"error_description\":\"AADSTS7000218: "
		      "client_assertion or client_secret required\"}",
		      &error);

	assert_null(device);
	mo_assert_error(error, MO_OAUTH_ERROR, MO_OAUTH_ERROR_INVALID_CLIENT);
	mo_assert_str_contains(error->message, "AADSTS7000218");
	mo_assert_str_contains(error->message, "400");

	/* Google's answer for mail scopes on the device flow */
	assert_parse_fails(400,
			   "{\"error\":\"invalid_scope\"}",
			   MO_OAUTH_ERROR,
			   MO_OAUTH_ERROR_INVALID_SCOPE);
	assert_parse_fails(401,
			   "{\"error\":\"unauthorized_client\"}",
			   MO_OAUTH_ERROR,
			   MO_OAUTH_ERROR_UNAUTHORIZED_CLIENT);
	/* an error status without an OAuth2 error in it */
	assert_parse_fails(400, "<html>Bad Request</html>", MO_ERROR, MO_ERROR_PROTOCOL);
	assert_parse_fails(404, "", MO_ERROR, MO_ERROR_PROTOCOL);
}

static void
test_parse_transient(void **state)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(MoDeviceAuth) device = parse(503, "Service Unavailable", &error);

	assert_null(device);
	mo_assert_error(error, MO_ERROR, MO_ERROR_TRANSIENT);
	mo_assert_str_contains(error->message, "503");
	assert_parse_fails(503,
			   "{\"error\":\"temporarily_unavailable\"}",
			   MO_ERROR,
			   MO_ERROR_TRANSIENT);
	assert_parse_fails(429, "{\"error\":\"slow_down\"}", MO_ERROR, MO_ERROR_TRANSIENT);
	assert_parse_fails(500, "", MO_ERROR, MO_ERROR_TRANSIENT);
}

/* --- starting the flow --- */

static MoApp *
app_new(const gchar *token_endpoint, const gchar *device_endpoint)
{
	MoApp *app = mo_app_new("test-app", MO_PROVIDER_MICROSOFT);

	app->client_id = g_strdup("test-client");
	app->token_endpoint = g_strdup(token_endpoint);
	app->device_endpoint = g_strdup(device_endpoint);
	return app;
}

static void
test_start(void **state)
{
	const gchar *body = "{\"device_code\":\"dc\",\"user_code\":\"WDJB-MJHT\","
			    "\"verification_uri\":\"https://microsoft.com/devicelogin\","
			    "\"expires_in\":900,\"interval\":5}";
	g_autoptr(MoTestServer) server = mo_test_server_new(200, NULL, body, strlen(body));
	g_autofree gchar *url = mo_test_server_get_url(server, "/devicecode");
	g_autoptr(MoApp) app = app_new(NULL, url);
	g_autoptr(GError) error = NULL;
	g_autoptr(MoDeviceAuth) device = NULL;
	g_autoptr(GHashTable) form = NULL;
	g_autofree gchar *req = NULL;

	device = mo_device_start(app,
				 "https://outlook.office.com/IMAP.AccessAsUser.All offline_access",
				 &test_http_options,
				 &error);
	mo_assert_no_error(error);
	assert_non_null(device);
	assert_string_equal(device->user_code, "WDJB-MJHT");
	mo_assert_int64_equal(device->expires_in, 900);

	assert_int_equal(mo_test_server_get_n_requests(server), 1);
	req = mo_test_server_dup_request(server, 0);
	assert_true(g_str_has_prefix(req, "POST /devicecode HTTP/1.1\r\n"));
	form = mo_test_server_dup_form(server, 0);
	assert_int_equal(g_hash_table_size(form), 2);
	assert_string_equal(g_hash_table_lookup(form, "scope"),
			    "https://outlook.office.com/IMAP.AccessAsUser.All offline_access");
	assert_string_equal(g_hash_table_lookup(form, "client_id"), "test-client");
}

static void
test_start_without_endpoint(void **state)
{
	g_autoptr(MoApp) app = app_new("https://e.com/token", NULL);
	g_autoptr(GError) error = NULL;
	g_autoptr(MoDeviceAuth) device = mo_device_start(app, "s", &test_http_options, &error);

	assert_null(device);
	mo_assert_error(error, MO_ERROR, MO_ERROR_INVALID_ARGUMENT);
}

static void
test_start_oauth_error(void **state)
{
	const gchar *body = "{\"error\":\"invalid_scope\"}";
	g_autoptr(MoTestServer) server = mo_test_server_new(400, NULL, body, strlen(body));
	g_autofree gchar *url = mo_test_server_get_url(server, "/devicecode");
	g_autoptr(MoApp) app = app_new(NULL, url);
	g_autoptr(GError) error = NULL;
	g_autoptr(MoDeviceAuth) device = mo_device_start(app, "s", &test_http_options, &error);

	assert_null(device);
	mo_assert_error(error, MO_OAUTH_ERROR, MO_OAUTH_ERROR_INVALID_SCOPE);
	assert_int_equal(mo_test_server_get_n_requests(server), 1);
}

/* --- polling, against a scripted server; intervals of 1 s keep it short --- */

typedef struct {
	MoTestServer *server;
	MoApp *app;
	MoDeviceAuth *device;
} PollFixture;

/* Every request not scripted by the test is answered authorization_pending. */
static int
poll_setup(void **state)
{
	PollFixture *fx = g_new0(PollFixture, 1);
	g_autofree gchar *url = NULL;

	fx->server = mo_test_server_new(400, NULL, PENDING_BODY, strlen(PENDING_BODY));
	url = mo_test_server_get_url(fx->server, "/token");
	fx->app = app_new(url, NULL);
	fx->device = g_new0(MoDeviceAuth, 1);
	fx->device->device_code = g_strdup("dev+code/=");
	fx->device->user_code = g_strdup("WDJB-MJHT");
	fx->device->verification_uri = g_strdup("https://example.com/device");
	fx->device->expires_in = 60;
	fx->device->interval = 1;
	*state = fx;
	return 0;
}

static int
poll_teardown(void **state)
{
	PollFixture *fx = *state;

	mo_test_server_free(fx->server);
	mo_app_free(fx->app);
	mo_device_auth_free(fx->device);
	g_free(fx);
	return 0;
}

static void
queue(PollFixture *fx, guint status, const gchar *body)
{
	mo_test_server_queue(fx->server, status, NULL, body, strlen(body));
}

static gdouble
seconds_between(PollFixture *fx, guint a, guint b)
{
	gint64 ta = mo_test_server_get_request_time(fx->server, a);
	gint64 tb = mo_test_server_get_request_time(fx->server, b);

	assert_true(ta >= 0 && tb >= 0);
	return (gdouble)(tb - ta) / G_USEC_PER_SEC;
}

static void
test_wait_pending_slow_down_success(void **state)
{
	PollFixture *fx = *state;
	g_autoptr(GError) error = NULL;
	g_autoptr(MoToken) token = NULL;
	gint64 start = g_get_monotonic_time();
	gdouble elapsed;

	queue(fx, 400, PENDING_BODY);
	queue(fx, 400, SLOW_DOWN_BODY);
	queue(fx, 200, TOKEN_BODY);
	token = mo_device_wait(fx->app, fx->device, &test_http_options, NULL, NULL, &error);
	elapsed = (gdouble)(g_get_monotonic_time() - start) / G_USEC_PER_SEC;

	mo_assert_no_error(error);
	assert_non_null(token);
	assert_string_equal(token->access_token, "a");
	assert_string_equal(token->refresh_token, "r");
	assert_int_equal(mo_test_server_get_n_requests(fx->server), 3);

	/* the first poll waits one interval; pending keeps the interval */
	if (seconds_between(fx, 0, 1) < 1.0)
		fail_msg("polled again %.2f s after authorization_pending",
			 seconds_between(fx, 0, 1));
	/* slow_down: 5 s more, for good (RFC 8628 §3.5) */
	if (seconds_between(fx, 1, 2) < 1.0 + MO_DEVICE_SLOW_DOWN_STEP)
		fail_msg("polled again %.2f s after slow_down", seconds_between(fx, 1, 2));
	if (seconds_between(fx, 1, 2) > 1.0 + MO_DEVICE_SLOW_DOWN_STEP + 2.0)
		fail_msg("waited %.2f s after slow_down", seconds_between(fx, 1, 2));
	if (elapsed < 1 + 1 + 1 + MO_DEVICE_SLOW_DOWN_STEP)
		fail_msg("done after %.2f s", elapsed);

	/* every poll is the same device_code grant */
	for (guint i = 0; i < 3; i++) {
		g_autoptr(GHashTable) form = mo_test_server_dup_form(fx->server, i);
		assert_int_equal(g_hash_table_size(form), 3);
		assert_string_equal(g_hash_table_lookup(form, "grant_type"), DEVICE_GRANT_TYPE);
		assert_string_equal(g_hash_table_lookup(form, "device_code"), "dev+code/=");
		assert_string_equal(g_hash_table_lookup(form, "client_id"), "test-client");
	}
}

static void
test_wait_access_denied(void **state)
{
	PollFixture *fx = *state;
	g_autoptr(GError) error = NULL;
	g_autoptr(MoToken) token = NULL;

	queue(fx, 400, "{\"error\":\"access_denied\",\"error_description\":\"The user declined\"}");
	token = mo_device_wait(fx->app, fx->device, &test_http_options, NULL, NULL, &error);

	assert_null(token);
	mo_assert_error(error, MO_OAUTH_ERROR, MO_OAUTH_ERROR_ACCESS_DENIED);
	mo_assert_str_contains(error->message, "The user declined");
	/* no more polling after a final answer */
	assert_int_equal(mo_test_server_get_n_requests(fx->server), 1);
}

static void
test_wait_expired_token(void **state)
{
	PollFixture *fx = *state;
	g_autoptr(GError) error = NULL;
	g_autoptr(MoToken) token = NULL;

	queue(fx, 400, "{\"error\":\"expired_token\"}");
	token = mo_device_wait(fx->app, fx->device, &test_http_options, NULL, NULL, &error);

	assert_null(token);
	mo_assert_error(error, MO_OAUTH_ERROR, MO_OAUTH_ERROR_EXPIRED_TOKEN);
	assert_int_equal(mo_test_server_get_n_requests(fx->server), 1);
}

static void
test_wait_local_expiry(void **state)
{
	PollFixture *fx = *state;
	g_autoptr(GError) error = NULL;
	g_autoptr(MoToken) token = NULL;

	/* the code is dead after expires_in, whatever the server would say */
	fx->device->expires_in = 1;
	token = mo_device_wait(fx->app, fx->device, &test_http_options, NULL, NULL, &error);

	assert_null(token);
	mo_assert_error(error, MO_OAUTH_ERROR, MO_OAUTH_ERROR_EXPIRED_TOKEN);
	assert_int_equal(mo_test_server_get_n_requests(fx->server), 0);
}

static gboolean
cancel_after_first_poll(gpointer user_data)
{
	PollFixture *fx = user_data;

	return mo_test_server_get_n_requests(fx->server) >= 1;
}

static void
test_wait_cancelled_between_polls(void **state)
{
	PollFixture *fx = *state;
	g_autoptr(GError) error = NULL;
	g_autoptr(MoToken) token = NULL;
	gint64 start = g_get_monotonic_time();
	gdouble elapsed;

	token = mo_device_wait(fx->app,
			       fx->device,
			       &test_http_options,
			       cancel_after_first_poll,
			       fx,
			       &error);
	elapsed = (gdouble)(g_get_monotonic_time() - start) / G_USEC_PER_SEC;

	assert_null(token);
	mo_assert_error(error, MO_ERROR, MO_ERROR_CANCELLED);
	assert_int_equal(mo_test_server_get_n_requests(fx->server), 1);
	/* at once, not at the end of the next interval */
	if (elapsed > 1.9)
		fail_msg("cancelled after %.2f s", elapsed);
}

static gboolean
cancel_after_300ms(gpointer user_data)
{
	gint64 *start = user_data;

	return g_get_monotonic_time() - *start >= 300 * 1000;
}

static void
test_wait_cancelled_while_sleeping(void **state)
{
	PollFixture *fx = *state;
	g_autoptr(GError) error = NULL;
	g_autoptr(MoToken) token = NULL;
	gint64 start = g_get_monotonic_time();
	gdouble elapsed;

	/* a long interval is slept in short steps that look at the cancel callback */
	fx->device->interval = 60;
	token = mo_device_wait(fx->app,
			       fx->device,
			       &test_http_options,
			       cancel_after_300ms,
			       &start,
			       &error);
	elapsed = (gdouble)(g_get_monotonic_time() - start) / G_USEC_PER_SEC;

	assert_null(token);
	mo_assert_error(error, MO_ERROR, MO_ERROR_CANCELLED);
	assert_int_equal(mo_test_server_get_n_requests(fx->server), 0);
	if (elapsed > 1.0)
		fail_msg("cancelled after %.2f s", elapsed);
}

/* --- regressions: defects found by these tests, fixed since --- */

/* verification_uri and verification_uri_complete are printed to the terminal by
 * `mailoauth authorize --flow device`; mo_url_check_endpoint() (g_uri_parse) lets control
 * characters and spaces through, so a server can send escape sequences. */
static void
test_parse_uri_with_control_chars(void **state)
{
	const gchar *hostile[] = {
		"https://example.com/\\u001b[2J\\u001b]0;owned\\u0007",
		"https://example.com/device\\r\\nhttps://evil.example.com/",
		"https://exa\\u001bmple.com/",
	};

	for (guint i = 0; i < G_N_ELEMENTS(hostile); i++) {
		g_autofree gchar *body = g_strdup_printf(
			"{\"device_code\":\"d\",\"user_code\":\"U\",\"verification_uri\":\"%s\"}",
			hostile[i]);
		g_autofree gchar *complete = g_strdup_printf(
			"{\"device_code\":\"d\",\"user_code\":\"U\",\"verification_uri\":"
			"\"https://e.com/d\",\"verification_uri_complete\":\"%s\"}",
			hostile[i]);
		g_autoptr(MoDeviceAuth) device = NULL;

		assert_parse_fails(200, body, MO_ERROR, MO_ERROR_PROTOCOL);
		device = parse_ok(complete);
		if (device->verification_uri_complete != NULL)
			fail_msg("verification_uri_complete %s kept", hostile[i]);
	}
}

/* What the provider answered is MO_ERROR_PROTOCOL (exit 1), as for token responses
 * (test-oauth's wrong-types regression): not MO_ERROR_INVALID_DATA ("a stored item or a
 * token file") nor MO_ERROR_INVALID_ARGUMENT ("the user's input is wrong", exit 2). */
static void
test_parse_errors_are_protocol_errors(void **state)
{
	assert_parse_fails(200, "<html>Sign in</html>", MO_ERROR, MO_ERROR_PROTOCOL);
	assert_parse_fails(200,
			   "{\"device_code\":42,\"user_code\":\"U\",\"verification_uri\":"
			   "\"https://e.com/d\"}",
			   MO_ERROR,
			   MO_ERROR_PROTOCOL);
	assert_parse_fails(200,
			   "{\"device_code\":\"d\",\"user_code\":\"U\",\"verification_uri\":"
			   "\"https://e.com/d\",\"interval\":\"soon\"}",
			   MO_ERROR,
			   MO_ERROR_PROTOCOL);
	assert_parse_fails(200,
			   "{\"device_code\":\"d\",\"user_code\":\"U\","
			   "\"verification_uri\":\"javascript:alert(1)\"}",
			   MO_ERROR,
			   MO_ERROR_PROTOCOL);
	assert_parse_fails(200,
			   "{\"device_code\":\"d\",\"user_code\":\"U\","
			   "\"verification_uri\":\"http://evil.example.com/device\"}",
			   MO_ERROR,
			   MO_ERROR_PROTOCOL);
}

/* A negative interval or expires_in refuses the whole answer (mo_json_get_int64 wants 0 or
 * more), though mo_device_validate() means to replace values <= 0 with the defaults. */
static void
test_parse_negative_numbers_defaulted(void **state)
{
	g_autoptr(MoDeviceAuth) device =
		parse_ok("{\"device_code\":\"d\",\"user_code\":\"U\",\"verification_uri\":"
			 "\"https://e.com/d\",\"expires_in\":-5,\"interval\":-3}");

	mo_assert_int64_equal(device->interval, MO_DEVICE_DEFAULT_INTERVAL);
	assert_true(device->expires_in > 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_good_response),
		cmocka_unit_test(test_parse_google_verification_url),
		cmocka_unit_test(test_parse_defaults),
		cmocka_unit_test(test_parse_clamped),
		cmocka_unit_test(test_parse_missing_members),
		cmocka_unit_test(test_parse_hostile_user_code),
		cmocka_unit_test(test_parse_hostile_verification_uri),
		cmocka_unit_test(test_parse_loopback_http_uri),
		cmocka_unit_test(test_parse_hostile_uri_complete_dropped),
		cmocka_unit_test(test_parse_oauth_error),
		cmocka_unit_test(test_parse_transient),
		cmocka_unit_test(test_start),
		cmocka_unit_test(test_start_without_endpoint),
		cmocka_unit_test(test_start_oauth_error),
		cmocka_unit_test_setup_teardown(test_wait_pending_slow_down_success,
						poll_setup,
						poll_teardown),
		cmocka_unit_test_setup_teardown(test_wait_access_denied, poll_setup, poll_teardown),
		cmocka_unit_test_setup_teardown(test_wait_expired_token, poll_setup, poll_teardown),
		cmocka_unit_test_setup_teardown(test_wait_local_expiry, poll_setup, poll_teardown),
		cmocka_unit_test_setup_teardown(test_wait_cancelled_between_polls,
						poll_setup,
						poll_teardown),
		cmocka_unit_test_setup_teardown(test_wait_cancelled_while_sleeping,
						poll_setup,
						poll_teardown),
		cmocka_unit_test(test_parse_uri_with_control_chars),
		cmocka_unit_test(test_parse_errors_are_protocol_errors),
		cmocka_unit_test(test_parse_negative_numbers_defaulted),
	};

	mo_test_init();
	cmocka_set_message_output(CM_OUTPUT_TAP);
	return cmocka_run_group_tests_name("unit/device", tests, NULL, NULL);
}
