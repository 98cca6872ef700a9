/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "mo-authorize.h"
#include "mo-error.h"
#include "mo-pkce.h"
#include "mo-test-server.h"
#include "mo-test.h"

#define TEST_AUTHORIZE	  "https://login.example.com/oauth2/authorize"
#define TEST_SCOPE	  "https://outlook.office.com/IMAP.AccessAsUser.All offline_access"
#define TEST_REDIRECT_URI "http://127.0.0.1:8765/"
#define TEST_ISSUER	  "https://login.example.com"

static const MoHttpOptions test_http_options = {.connect_timeout = 2, .timeout = 5};

static MoApp *
app_new(MoProvider provider, const gchar *authorize_endpoint)
{
	MoApp *app = mo_app_new("test-app", provider);

	app->client_id = g_strdup("test-client");
	app->authorize_endpoint = g_strdup(authorize_endpoint);
	return app;
}

static MoAuthRequest *
request_new(const MoApp *app, const gchar *login_hint)
{
	g_autoptr(GError) error = NULL;
	MoAuthRequest *request =
		mo_auth_request_new(app, TEST_SCOPE, TEST_REDIRECT_URI, login_hint, &error);

	mo_assert_no_error(error);
	assert_non_null(request);
	return request;
}

/* The query of @url (after the endpoint's own '?', if any) as a table; fails when a
 * parameter comes twice, when a value is not escaped, or when it does not decode. */
static GHashTable *
url_params(const gchar *url)
{
	const gchar *query = strchr(url, '?');
	g_auto(GStrv) fields = NULL;
	GHashTable *params = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);

	assert_non_null(query);
	mo_assert_str_lacks(url, " ");
	mo_assert_str_lacks(url, "+");
	mo_assert_str_lacks(url, "#");
	fields = g_strsplit(query + 1, "&", -1);
	for (guint i = 0; fields[i] != NULL; i++) {
		g_auto(GStrv) kv = g_strsplit(fields[i], "=", 2);
		gchar *name;
		gchar *value;

		if (g_strv_length(kv) != 2)
			fail_msg("“%s” in %s is not name=value", fields[i], url);
		name = g_uri_unescape_string(kv[0], NULL);
		value = g_uri_unescape_string(kv[1], NULL);
		assert_non_null(name);
		assert_non_null(value);
		if (g_hash_table_contains(params, name))
			fail_msg("%s comes twice in %s", name, url);
		g_hash_table_insert(params, name, value);
	}
	return params;
}

static void
assert_param(GHashTable *params, const gchar *name, const gchar *value)
{
	const gchar *found = g_hash_table_lookup(params, name);

	if (found == NULL)
		fail_msg("no %s in the request", name);
	assert_string_equal(found, value);
}

/* --- the authorization request --- */

static void
test_request_parameters(void **state)
{
	g_autoptr(MoApp) app = app_new(MO_PROVIDER_MICROSOFT, TEST_AUTHORIZE);
	g_autoptr(MoAuthRequest) request = request_new(app, NULL);
	g_autoptr(GHashTable) params = url_params(request->url);
	g_autofree gchar *challenge = NULL;

	assert_true(g_str_has_prefix(request->url, TEST_AUTHORIZE "?"));
	assert_int_equal(g_hash_table_size(params), 7);
	assert_param(params, "response_type", "code");
	assert_param(params, "client_id", "test-client");
	assert_param(params, "redirect_uri", TEST_REDIRECT_URI);
	assert_param(params, "scope", TEST_SCOPE);
	assert_param(params, "state", request->state);
	assert_param(params, "code_challenge_method", "S256");
	challenge = mo_pkce_challenge_s256(request->verifier);
	assert_param(params, "code_challenge", challenge);

	assert_string_equal(request->redirect_uri, TEST_REDIRECT_URI);
	/* 32 random bytes: the RFC 7636 minimum of 43 characters */
	assert_int_equal(strlen(request->verifier), 43);
	assert_true(strlen(request->state) >= 22);
	/* the verifier itself never leaves with the browser */
	mo_assert_str_lacks(request->url, request->verifier);
}

static void
test_request_percent_encoding(void **state)
{
	g_autoptr(MoApp) app = app_new(MO_PROVIDER_MICROSOFT, TEST_AUTHORIZE);
	g_autoptr(MoAuthRequest) request = request_new(app, NULL);

	/* the space in the scope and the reserved characters of both URLs are escaped */
	mo_assert_str_contains(request->url,
			       "&scope=https%3A%2F%2Foutlook.office.com%2FIMAP.AccessAsUser.All%"
			       "20offline_access");
	mo_assert_str_contains(request->url, "&redirect_uri=http%3A%2F%2F127.0.0.1%3A8765%2F");
	/* the endpoint's own characters are not */
	assert_true(g_str_has_prefix(request->url, TEST_AUTHORIZE "?response_type=code&"));
}

static void
test_request_random_per_request(void **state)
{
	g_autoptr(MoApp) app = app_new(MO_PROVIDER_MICROSOFT, TEST_AUTHORIZE);
	g_autoptr(MoAuthRequest) a = request_new(app, NULL);
	g_autoptr(MoAuthRequest) b = request_new(app, NULL);
	g_autoptr(GHashTable) pa = url_params(a->url);
	g_autoptr(GHashTable) pb = url_params(b->url);

	assert_string_not_equal(a->state, b->state);
	assert_string_not_equal(a->verifier, b->verifier);
	assert_string_not_equal(g_hash_table_lookup(pa, "code_challenge"),
				g_hash_table_lookup(pb, "code_challenge"));
	assert_string_not_equal(a->url, b->url);
}

static void
test_request_login_hint(void **state)
{
	g_autoptr(MoApp) app = app_new(MO_PROVIDER_MICROSOFT, TEST_AUTHORIZE);
	g_autoptr(MoAuthRequest) with = request_new(app, "user+tag@example.com");
	g_autoptr(MoAuthRequest) without = request_new(app, NULL);
	g_autoptr(GHashTable) pwith = url_params(with->url);
	g_autoptr(GHashTable) pwithout = url_params(without->url);

	assert_param(pwith, "login_hint", "user+tag@example.com");
	mo_assert_str_contains(with->url, "login_hint=user%2Btag%40example.com");
	assert_false(g_hash_table_contains(pwithout, "login_hint"));
	mo_assert_str_lacks(without->url, "login_hint");
}

static void
test_request_provider_params(void **state)
{
	g_autoptr(MoApp) google = app_new(MO_PROVIDER_GOOGLE, TEST_AUTHORIZE);
	g_autoptr(MoApp) custom = app_new(MO_PROVIDER_CUSTOM, TEST_AUTHORIZE);
	g_autoptr(MoApp) microsoft = app_new(MO_PROVIDER_MICROSOFT, TEST_AUTHORIZE);
	g_autoptr(MoAuthRequest) rg = request_new(google, "me@gmail.com");
	g_autoptr(MoAuthRequest) rc = request_new(custom, NULL);
	g_autoptr(MoAuthRequest) rm = request_new(microsoft, NULL);
	g_autoptr(GHashTable) pg = url_params(rg->url);
	g_autoptr(GHashTable) pc = url_params(rc->url);
	g_autoptr(GHashTable) pm = url_params(rm->url);

	/* Google hands out a refresh token again only with both */
	assert_param(pg, "access_type", "offline");
	assert_param(pg, "prompt", "consent");
	assert_param(pg, "login_hint", "me@gmail.com");
	assert_int_equal(g_hash_table_size(pg), 10);

	assert_param(pc, "prompt", "consent");
	assert_false(g_hash_table_contains(pc, "access_type"));
	assert_int_equal(g_hash_table_size(pc), 8);

	assert_false(g_hash_table_contains(pm, "prompt"));
	assert_false(g_hash_table_contains(pm, "access_type"));
	assert_int_equal(g_hash_table_size(pm), 7);
}

static void
test_request_endpoint_with_query(void **state)
{
	g_autoptr(MoApp) app =
		app_new(MO_PROVIDER_CUSTOM, "https://login.example.com/authorize?p=B2C_1_signin");
	g_autoptr(MoAuthRequest) request = request_new(app, NULL);
	g_autoptr(GHashTable) params = url_params(request->url);

	assert_true(g_str_has_prefix(request->url,
				     "https://login.example.com/authorize?p=B2C_1_signin&"
				     "response_type=code&"));
	/* one '?' only */
	assert_ptr_equal(strchr(request->url, '?'), strrchr(request->url, '?'));
	assert_param(params, "p", "B2C_1_signin");
	assert_param(params, "response_type", "code");
}

static void
test_request_loopback_http_endpoint(void **state)
{
	g_autoptr(MoApp) app = app_new(MO_PROVIDER_CUSTOM, "http://127.0.0.1:9/authorize");
	g_autoptr(MoAuthRequest) request = request_new(app, NULL);

	assert_true(g_str_has_prefix(request->url, "http://127.0.0.1:9/authorize?"));
}

static void
test_request_bad_endpoint_refused(void **state)
{
	const gchar *bad[] = {
		NULL,
		"http://login.example.com/authorize",
		"http://localhost.example.com/authorize",
		"ftp://login.example.com/authorize",
		"javascript:alert(1)",
		"/authorize",
		"",
	};

	for (guint i = 0; i < G_N_ELEMENTS(bad); i++) {
		g_autoptr(MoApp) app = app_new(MO_PROVIDER_CUSTOM, bad[i]);
		g_autoptr(GError) error = NULL;
		g_autoptr(MoAuthRequest) request =
			mo_auth_request_new(app, TEST_SCOPE, TEST_REDIRECT_URI, NULL, &error);

		if (request != NULL)
			fail_msg("authorize endpoint %s accepted", bad[i] ? bad[i] : "(null)");
		mo_assert_error(error, MO_ERROR, MO_ERROR_INVALID_ARGUMENT);
	}
}

/* --- the redirect's query --- */

static MoRedirect *
parse_query_ok(const gchar *query)
{
	g_autoptr(GError) error = NULL;
	MoRedirect *redirect = mo_redirect_parse_query(query, &error);

	mo_assert_no_error(error);
	assert_non_null(redirect);
	return redirect;
}

static void
assert_query_refused(const gchar *query)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(MoRedirect) redirect = mo_redirect_parse_query(query, &error);

	if (redirect != NULL)
		fail_msg("redirect query “%s” accepted", query);
	mo_assert_error(error, MO_ERROR, MO_ERROR_INVALID_ARGUMENT);
}

static void
test_query_good(void **state)
{
	g_autoptr(MoRedirect) redirect = parse_query_ok(
		"code=0.AAAA-code_x&state=st4te&iss=https%3A%2F%2Flogin.example.com&session_state="
		"abc");

	assert_string_equal(redirect->code, "0.AAAA-code_x");
	assert_string_equal(redirect->state, "st4te");
	assert_string_equal(redirect->iss, TEST_ISSUER);
	assert_null(redirect->error);
	assert_null(redirect->error_description);
	assert_false(redirect->bare_code);
}

static void
test_query_decoding(void **state)
{
	g_autoptr(MoRedirect) redirect =
		parse_query_ok("code=4%2F0Ab+c%2Bd&state=s&error_description=a+b%20c");

	/* form decoding: '+' is a space, %2B a plus */
	assert_string_equal(redirect->code, "4/0Ab c+d");
	assert_string_equal(redirect->error_description, "a b c");
}

static void
test_query_error(void **state)
{
	g_autoptr(MoRedirect) redirect =
		parse_query_ok("error=access_denied&error_description=The+user+declined.&state=s");

	assert_null(redirect->code);
	assert_string_equal(redirect->error, "access_denied");
	assert_string_equal(redirect->error_description, "The user declined.");
	assert_string_equal(redirect->state, "s");
}

static void
test_query_unknown_params_ignored(void **state)
{
	g_autoptr(MoRedirect) redirect = parse_query_ok(
		"scope=email+https%3A%2F%2Fmail.google.com%2F&authuser=0&code=c&prompt=consent&"
		"state=s&code_verifier=x&Code=other");

	assert_string_equal(redirect->code, "c");
	assert_string_equal(redirect->state, "s");
	assert_null(redirect->iss);
	assert_null(redirect->error);
}

static void
test_query_duplicates_refused(void **state)
{
	assert_query_refused("code=a&state=s&code=b");
	assert_query_refused("code=a&state=s&code=a");
	assert_query_refused("code=a&state=s&state=t");
	assert_query_refused("state=s&code=&code=a");
	assert_query_refused("code=a&state=s&iss=x&iss=y");
	assert_query_refused("error=access_denied&error=server_error&state=s");
	/* an escaped name is the same name */
	assert_query_refused("code=a&state=s&%63ode=b");
}

static void
test_query_malformed_refused(void **state)
{
	assert_query_refused("code=%zz&state=s");
	assert_query_refused("code=a%4&state=s");
	assert_query_refused("code=a&state=s%");
	/* no NUL smuggled into a string, no invalid UTF-8 */
	assert_query_refused("code=a%00b&state=s");
	assert_query_refused("code=a&state=%ff%fe");
	assert_query_refused(NULL);
}

static void
test_query_length_bound(void **state)
{
	g_autofree gchar *fits = NULL;
	g_autofree gchar *too_long = NULL;
	g_autoptr(MoRedirect) redirect = NULL;
	GString *text = g_string_new("state=s&code=");

	while (text->len < MO_REDIRECT_MAX_LEN)
		g_string_append_c(text, 'c');
	fits = g_strdup(text->str);
	g_string_append_c(text, 'c');
	too_long = g_string_free(text, FALSE);

	redirect = parse_query_ok(fits);
	assert_int_equal(strlen(redirect->code), MO_REDIRECT_MAX_LEN - strlen("state=s&code="));
	assert_query_refused(too_long);
}

static void
test_query_empty(void **state)
{
	g_autoptr(MoRedirect) redirect = parse_query_ok("");

	/* nothing in it: check_redirect refuses it (test_check_no_code) */
	assert_null(redirect->code);
	assert_null(redirect->state);
	assert_null(redirect->error);
	assert_false(redirect->bare_code);
}

/* --- what the user pastes --- */

static MoRedirect *
parse_pasted_ok(const gchar *text)
{
	g_autoptr(GError) error = NULL;
	MoRedirect *redirect = mo_redirect_parse_pasted(text, &error);

	mo_assert_no_error(error);
	assert_non_null(redirect);
	return redirect;
}

static void
assert_pasted_refused(const gchar *text)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(MoRedirect) redirect = mo_redirect_parse_pasted(text, &error);

	if (redirect != NULL)
		fail_msg("pasted “%s” accepted (code %s)",
			 text != NULL ? text : "(null)",
			 redirect->code != NULL ? redirect->code : "(null)");
	mo_assert_error(error, MO_ERROR, MO_ERROR_INVALID_ARGUMENT);
}

static void
test_pasted_full_url(void **state)
{
	g_autoptr(MoRedirect) redirect =
		parse_pasted_ok("http://127.0.0.1:8765/?code=4%2F0Abc&state=st4te&scope=x+y");

	assert_string_equal(redirect->code, "4/0Abc");
	assert_string_equal(redirect->state, "st4te");
	assert_false(redirect->bare_code);
}

static void
test_pasted_url_with_fragment(void **state)
{
	g_autoptr(MoRedirect) redirect =
		parse_pasted_ok("http://127.0.0.1:8765/?code=c0de&state=s#code=evil&state=x");

	/* the fragment is not part of the query: no duplicate, and not its values */
	assert_string_equal(redirect->code, "c0de");
	assert_string_equal(redirect->state, "s");
}

static void
test_pasted_bare_query(void **state)
{
	g_autoptr(MoRedirect) a = parse_pasted_ok("code=c0de&state=s");
	g_autoptr(MoRedirect) b = parse_pasted_ok("?code=c0de&state=s");

	assert_string_equal(a->code, "c0de");
	assert_string_equal(a->state, "s");
	assert_false(a->bare_code);
	assert_string_equal(b->code, "c0de");
	assert_string_equal(b->state, "s");
}

static void
test_pasted_bare_code(void **state)
{
	g_autoptr(MoRedirect) redirect = parse_pasted_ok("4/0AX4XfWh-Abc_def.ghi~jkl");

	assert_string_equal(redirect->code, "4/0AX4XfWh-Abc_def.ghi~jkl");
	assert_null(redirect->state);
	assert_true(redirect->bare_code);
}

static void
test_pasted_whitespace_trimmed(void **state)
{
	g_autoptr(MoRedirect) code = parse_pasted_ok("  \t4/0Abc \r\n");
	g_autoptr(MoRedirect) url =
		parse_pasted_ok("\n http://127.0.0.1:8765/?code=c&state=s \r\n");

	assert_string_equal(code->code, "4/0Abc");
	assert_true(code->bare_code);
	assert_string_equal(url->code, "c");
	assert_string_equal(url->state, "s");
}

static void
test_pasted_refused(void **state)
{
	g_autofree gchar *too_long = g_strnfill(MO_REDIRECT_MAX_LEN + 1, 'c');
	g_autofree gchar *just_fits = g_strnfill(MO_REDIRECT_MAX_LEN, 'c');
	g_autoptr(MoRedirect) fits = NULL;

	assert_pasted_refused(NULL);
	assert_pasted_refused("");
	assert_pasted_refused(" \t\r\n ");
	/* a code is one token: spaces, control characters and non-ASCII are not in one */
	assert_pasted_refused("4/0Abc def");
	assert_pasted_refused("4/0Abc\x1b[2Jdef");
	assert_pasted_refused("4/0Abc\x7f");
	assert_pasted_refused("4/0Abc\x01");
	assert_pasted_refused("c\xc3\xb6"
			      "de");
	assert_pasted_refused(too_long);
	fits = parse_pasted_ok(just_fits);
	assert_true(fits->bare_code);
	/* a URL or query is held to the same rules as the redirect itself */
	assert_pasted_refused("http://127.0.0.1:8765/?code=a&code=b&state=s");
	assert_pasted_refused("http://127.0.0.1:8765/?code=%zz&state=s");
}

/* --- checking the redirect against the request --- */

typedef struct {
	MoApp *app;
	MoAuthRequest *request;
} CheckFixture;

static int
check_setup(void **state)
{
	CheckFixture *fx = g_new0(CheckFixture, 1);

	fx->app = app_new(MO_PROVIDER_CUSTOM, TEST_AUTHORIZE);
	fx->app->issuer = g_strdup(TEST_ISSUER);
	fx->request = request_new(fx->app, NULL);
	*state = fx;
	return 0;
}

static int
check_teardown(void **state)
{
	CheckFixture *fx = *state;

	mo_auth_request_free(fx->request);
	mo_app_free(fx->app);
	g_free(fx);
	return 0;
}

/* @query with STATE replaced by the request's state */
static MoRedirect *
redirect_for(const CheckFixture *fx, const gchar *query)
{
	g_autofree gchar *escaped = g_uri_escape_string(fx->request->state, NULL, FALSE);
	g_autoptr(GString) text = g_string_new(query);

	g_string_replace(text, "STATE", escaped, 0);
	return parse_query_ok(text->str);
}

static void
assert_check_fails(const CheckFixture *fx,
		   const MoApp *app,
		   const MoRedirect *redirect,
		   GQuark domain,
		   gint code)
{
	g_autoptr(GError) error = NULL;

	if (mo_auth_request_check_redirect(fx->request, app, redirect, &error))
		fail_msg("redirect accepted");
	mo_assert_error(error, domain, code);
}

static void
test_check_good(void **state)
{
	CheckFixture *fx = *state;
	g_autoptr(MoRedirect) plain = redirect_for(fx, "code=c&state=STATE");
	g_autoptr(MoRedirect) with_iss =
		redirect_for(fx, "code=c&state=STATE&iss=https%3A%2F%2Flogin.example.com");
	g_autoptr(GError) error = NULL;

	assert_true(mo_auth_request_check_redirect(fx->request, fx->app, plain, &error));
	mo_assert_no_error(error);
	assert_true(mo_auth_request_check_redirect(fx->request, fx->app, with_iss, &error));
	mo_assert_no_error(error);
}

static void
test_check_state_mismatch(void **state)
{
	CheckFixture *fx = *state;
	g_autoptr(MoRedirect) other = parse_query_ok("code=c&state=not-the-state");
	g_autoptr(MoRedirect) missing = parse_query_ok("code=c");
	g_autoptr(MoRedirect) empty = parse_query_ok("code=c&state=");
	g_autoptr(MoRedirect) prefix = NULL;
	g_autoptr(MoRedirect) longer = redirect_for(fx, "code=c&state=STATEx");
	g_autofree gchar *query = g_strdup_printf("code=c&state=%.*s",
						  (int)strlen(fx->request->state) - 1,
						  fx->request->state);

	prefix = parse_query_ok(query);
	assert_check_fails(fx, fx->app, other, MO_ERROR, MO_ERROR_INVALID_ARGUMENT);
	assert_check_fails(fx, fx->app, missing, MO_ERROR, MO_ERROR_INVALID_ARGUMENT);
	assert_check_fails(fx, fx->app, empty, MO_ERROR, MO_ERROR_INVALID_ARGUMENT);
	assert_check_fails(fx, fx->app, prefix, MO_ERROR, MO_ERROR_INVALID_ARGUMENT);
	assert_check_fails(fx, fx->app, longer, MO_ERROR, MO_ERROR_INVALID_ARGUMENT);
}

static void
test_check_state_before_error(void **state)
{
	CheckFixture *fx = *state;
	g_autoptr(MoRedirect) redirect =
		parse_query_ok("error=access_denied&error_description=forged&state=wrong");

	/* an error from a redirect that is not ours is not the answer to our request */
	assert_check_fails(fx, fx->app, redirect, MO_ERROR, MO_ERROR_INVALID_ARGUMENT);
}

static void
test_check_iss(void **state)
{
	CheckFixture *fx = *state;
	g_autoptr(MoApp) no_issuer = app_new(MO_PROVIDER_CUSTOM, TEST_AUTHORIZE);
	g_autoptr(MoRedirect) other =
		redirect_for(fx, "code=c&state=STATE&iss=https%3A%2F%2Fevil.example.com");
	g_autoptr(MoRedirect) slash =
		redirect_for(fx, "code=c&state=STATE&iss=https%3A%2F%2Flogin.example.com%2F");
	g_autoptr(GError) error = NULL;

	/* RFC 9207: another issuer's answer is a mix-up */
	assert_check_fails(fx, fx->app, other, MO_ERROR, MO_ERROR_INVALID_ARGUMENT);
	/* compared exactly */
	assert_check_fails(fx, fx->app, slash, MO_ERROR, MO_ERROR_INVALID_ARGUMENT);
	/* without a known issuer there is nothing to compare with */
	assert_true(mo_auth_request_check_redirect(fx->request, no_issuer, other, &error));
	mo_assert_no_error(error);
}

static void
test_check_access_denied(void **state)
{
	CheckFixture *fx = *state;
	g_autoptr(MoRedirect) redirect = redirect_for(
		fx,
		"error=access_denied&error_description=The+user+declined+AADSTS65004&state=STATE");
	g_autoptr(MoRedirect) bare = redirect_for(fx, "error=access_denied&state=STATE");
	g_autoptr(MoRedirect) other = redirect_for(fx, "error=temporarily_unavailable&state=STATE");
	g_autoptr(GError) error = NULL;

	assert_false(mo_auth_request_check_redirect(fx->request, fx->app, redirect, &error));
	mo_assert_error(error, MO_OAUTH_ERROR, MO_OAUTH_ERROR_ACCESS_DENIED);
	mo_assert_str_contains(error->message, "access_denied");
	mo_assert_str_contains(error->message, "The user declined AADSTS65004");
	g_clear_error(&error);

	assert_false(mo_auth_request_check_redirect(fx->request, fx->app, bare, &error));
	mo_assert_error(error, MO_OAUTH_ERROR, MO_OAUTH_ERROR_ACCESS_DENIED);
	mo_assert_str_contains(error->message, "access_denied");
	g_clear_error(&error);

	assert_false(mo_auth_request_check_redirect(fx->request, fx->app, other, &error));
	mo_assert_error(error, MO_OAUTH_ERROR, MO_OAUTH_ERROR_OTHER);
	mo_assert_str_contains(error->message, "temporarily_unavailable");
}

static void
test_check_error_wins_over_code(void **state)
{
	CheckFixture *fx = *state;
	g_autoptr(MoRedirect) redirect = redirect_for(fx, "code=c&error=access_denied&state=STATE");

	assert_check_fails(fx, fx->app, redirect, MO_OAUTH_ERROR, MO_OAUTH_ERROR_ACCESS_DENIED);
}

static void
test_check_no_code(void **state)
{
	CheckFixture *fx = *state;
	g_autoptr(MoRedirect) none = redirect_for(fx, "state=STATE");
	g_autoptr(MoRedirect) empty = redirect_for(fx, "code=&state=STATE");
	g_autoptr(MoRedirect) nothing = parse_query_ok("");

	assert_check_fails(fx, fx->app, none, MO_ERROR, MO_ERROR_INVALID_ARGUMENT);
	assert_check_fails(fx, fx->app, empty, MO_ERROR, MO_ERROR_INVALID_ARGUMENT);
	assert_check_fails(fx, fx->app, nothing, MO_ERROR, MO_ERROR_INVALID_ARGUMENT);
}

static void
test_check_bare_code(void **state)
{
	CheckFixture *fx = *state;
	g_autoptr(MoRedirect) bare = parse_pasted_ok("4/0Abc");
	g_autoptr(MoRedirect) query = parse_pasted_ok("code=4%2F0Abc");
	g_autoptr(GError) error = NULL;

	/* nothing to check it against: PKCE binds it to the request */
	assert_true(mo_auth_request_check_redirect(fx->request, fx->app, bare, &error));
	mo_assert_no_error(error);
	/* but a pasted query without state is not a bare code */
	assert_check_fails(fx, fx->app, query, MO_ERROR, MO_ERROR_INVALID_ARGUMENT);
}

static void
test_check_pasted_url(void **state)
{
	CheckFixture *fx = *state;
	g_autoptr(GError) error = NULL;
	g_autofree gchar *escaped = g_uri_escape_string(fx->request->state, NULL, FALSE);
	g_autofree gchar *line =
		g_strdup_printf("  " TEST_REDIRECT_URI "?code=c0de&state=%s#\n", escaped);
	g_autoptr(MoRedirect) redirect = parse_pasted_ok(line);

	assert_true(mo_auth_request_check_redirect(fx->request, fx->app, redirect, &error));
	mo_assert_no_error(error);
	assert_string_equal(redirect->code, "c0de");
}

/* --- the code exchange --- */

static void
test_exchange(void **state)
{
	const gchar *body = "{\"access_token\":\"a\",\"refresh_token\":\"r\",\"expires_in\":3600}";
	g_autoptr(MoTestServer) server = mo_test_server_new(200, NULL, body, strlen(body));
	g_autofree gchar *url = mo_test_server_get_url(server, "/token");
	g_autoptr(MoApp) app = app_new(MO_PROVIDER_CUSTOM, TEST_AUTHORIZE);
	g_autoptr(MoAuthRequest) request = NULL;
	g_autoptr(GHashTable) params = NULL;
	g_autoptr(GHashTable) form = NULL;
	g_autoptr(MoToken) token = NULL;
	g_autoptr(GError) error = NULL;
	g_autofree gchar *challenge = NULL;

	app->token_endpoint = g_strdup(url);
	request = request_new(app, NULL);
	params = url_params(request->url);
	token = mo_auth_request_exchange(request, app, "4/0A+b&c=", &test_http_options, &error);
	mo_assert_no_error(error);
	assert_non_null(token);
	assert_string_equal(token->access_token, "a");
	assert_string_equal(token->refresh_token, "r");

	assert_int_equal(mo_test_server_get_n_requests(server), 1);
	form = mo_test_server_dup_form(server, 0);
	assert_int_equal(g_hash_table_size(form), 5);
	assert_string_equal(g_hash_table_lookup(form, "grant_type"), "authorization_code");
	assert_string_equal(g_hash_table_lookup(form, "code"), "4/0A+b&c=");
	assert_string_equal(g_hash_table_lookup(form, "redirect_uri"), TEST_REDIRECT_URI);
	assert_string_equal(g_hash_table_lookup(form, "client_id"), "test-client");
	assert_string_equal(g_hash_table_lookup(form, "code_verifier"), request->verifier);
	/* what the server checks: S256 of the verifier is the challenge it was sent */
	challenge = mo_pkce_challenge_s256(g_hash_table_lookup(form, "code_verifier"));
	assert_string_equal(challenge, g_hash_table_lookup(params, "code_challenge"));
}

static void
test_exchange_invalid_grant(void **state)
{
	const gchar *body = "{\"error\":\"invalid_grant\",\"error_description\":\"bad verifier\"}";
	g_autoptr(MoTestServer) server = mo_test_server_new(400, NULL, body, strlen(body));
	g_autofree gchar *url = mo_test_server_get_url(server, "/token");
	g_autoptr(MoApp) app = app_new(MO_PROVIDER_CUSTOM, TEST_AUTHORIZE);
	g_autoptr(MoAuthRequest) request = NULL;
	g_autoptr(MoToken) token = NULL;
	g_autoptr(GError) error = NULL;

	app->token_endpoint = g_strdup(url);
	request = request_new(app, NULL);
	token = mo_auth_request_exchange(request, app, "c", &test_http_options, &error);
	assert_null(token);
	mo_assert_error(error, MO_OAUTH_ERROR, MO_OAUTH_ERROR_INVALID_GRANT);
	mo_assert_str_contains(error->message, "bad verifier");
	mo_assert_str_lacks(error->message, request->verifier);
	assert_int_equal(mo_test_server_get_n_requests(server), 1);
}

/* --- regressions: defects found by these tests, fixed since --- */

/* The redirect URI pasted without its query (the browser had not come back yet, or the
 * query was lost) has no code in it; it is taken as a bare code and sent to the token
 * endpoint, which answers a confusing invalid_grant. */
static void
test_pasted_url_without_query_refused(void **state)
{
	assert_pasted_refused("http://127.0.0.1:8765/");
	assert_pasted_refused("https://login.example.com/callback");
}

/* The provider's error and error_description from the redirect reach the terminal (and
 * the paste prompt) in the error message: no control characters from them, as
 * mo_oauth_parse_error_response() does for the token endpoint's answers. */
static void
test_check_error_text_sanitized(void **state)
{
	CheckFixture *fx = *state;
	g_autoptr(MoRedirect) redirect =
		redirect_for(fx,
			     "error=access_denied%1b%5d0%3bx%07&error_description=a%1b%5b2Jb%0d%0a&"
			     "state=STATE");
	g_autoptr(MoRedirect) iss = redirect_for(fx, "code=c&state=STATE&iss=https%3A%2F%2Fx%1b");
	g_autoptr(GError) error = NULL;
	g_autoptr(GError) error_iss = NULL;

	assert_false(mo_auth_request_check_redirect(fx->request, fx->app, redirect, &error));
	assert_non_null(error);
	mo_assert_str_lacks(error->message, "\x1b");
	mo_assert_str_lacks(error->message, "\x07");
	mo_assert_str_lacks(error->message, "\r");
	assert_false(mo_auth_request_check_redirect(fx->request, fx->app, iss, &error_iss));
	assert_non_null(error_iss);
	mo_assert_str_lacks(error_iss->message, "\x1b");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_request_parameters),
		cmocka_unit_test(test_request_percent_encoding),
		cmocka_unit_test(test_request_random_per_request),
		cmocka_unit_test(test_request_login_hint),
		cmocka_unit_test(test_request_provider_params),
		cmocka_unit_test(test_request_endpoint_with_query),
		cmocka_unit_test(test_request_loopback_http_endpoint),
		cmocka_unit_test(test_request_bad_endpoint_refused),
		cmocka_unit_test(test_query_good),
		cmocka_unit_test(test_query_decoding),
		cmocka_unit_test(test_query_error),
		cmocka_unit_test(test_query_unknown_params_ignored),
		cmocka_unit_test(test_query_duplicates_refused),
		cmocka_unit_test(test_query_malformed_refused),
		cmocka_unit_test(test_query_length_bound),
		cmocka_unit_test(test_query_empty),
		cmocka_unit_test(test_pasted_full_url),
		cmocka_unit_test(test_pasted_url_with_fragment),
		cmocka_unit_test(test_pasted_bare_query),
		cmocka_unit_test(test_pasted_bare_code),
		cmocka_unit_test(test_pasted_whitespace_trimmed),
		cmocka_unit_test(test_pasted_refused),
		cmocka_unit_test_setup_teardown(test_check_good, check_setup, check_teardown),
		cmocka_unit_test_setup_teardown(test_check_state_mismatch,
						check_setup,
						check_teardown),
		cmocka_unit_test_setup_teardown(test_check_state_before_error,
						check_setup,
						check_teardown),
		cmocka_unit_test_setup_teardown(test_check_iss, check_setup, check_teardown),
		cmocka_unit_test_setup_teardown(test_check_access_denied,
						check_setup,
						check_teardown),
		cmocka_unit_test_setup_teardown(test_check_error_wins_over_code,
						check_setup,
						check_teardown),
		cmocka_unit_test_setup_teardown(test_check_no_code, check_setup, check_teardown),
		cmocka_unit_test_setup_teardown(test_check_bare_code, check_setup, check_teardown),
		cmocka_unit_test_setup_teardown(test_check_pasted_url, check_setup, check_teardown),
		cmocka_unit_test(test_exchange),
		cmocka_unit_test(test_exchange_invalid_grant),
		cmocka_unit_test(test_pasted_url_without_query_refused),
		cmocka_unit_test_setup_teardown(test_check_error_text_sanitized,
						check_setup,
						check_teardown),
	};

	mo_test_init();
	cmocka_set_message_output(CM_OUTPUT_TAP);
	return cmocka_run_group_tests_name("unit/authorize", tests, NULL, NULL);
}
