/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "mo-error.h"
#include "mo-provider.h"
#include "mo-test.h"

#define MS_BASE "https://login.microsoftonline.com/"

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(MoEndpoints, mo_endpoints_clear)

static void
test_from_string(void **state)
{
	MoProvider provider = (MoProvider)-1;

	assert_true(mo_provider_from_string("microsoft", &provider));
	assert_int_equal(provider, MO_PROVIDER_MICROSOFT);
	assert_true(mo_provider_from_string("google", &provider));
	assert_int_equal(provider, MO_PROVIDER_GOOGLE);
	assert_true(mo_provider_from_string("custom", &provider));
	assert_int_equal(provider, MO_PROVIDER_CUSTOM);

	provider = MO_PROVIDER_GOOGLE;
	assert_false(mo_provider_from_string("yahoo", &provider));
	assert_false(mo_provider_from_string("", &provider));
	assert_false(mo_provider_from_string("microsoft ", &provider));
	assert_false(mo_provider_from_string(NULL, &provider));
	/* a failed lookup leaves the output alone */
	assert_int_equal(provider, MO_PROVIDER_GOOGLE);
}

static void
test_to_string_round_trip(void **state)
{
	const MoProvider all[] = {MO_PROVIDER_CUSTOM, MO_PROVIDER_MICROSOFT, MO_PROVIDER_GOOGLE};

	for (guint i = 0; i < G_N_ELEMENTS(all); i++) {
		MoProvider back = (MoProvider)-1;
		assert_true(mo_provider_from_string(mo_provider_to_string(all[i]), &back));
		assert_int_equal(back, all[i]);
	}
	assert_string_equal(mo_provider_to_string((MoProvider)42), "custom");
}

static void
test_microsoft_default_tenant(void **state)
{
	g_auto(MoEndpoints) endpoints = {NULL};
	g_autoptr(GError) error = NULL;

	assert_true(mo_provider_get_endpoints(MO_PROVIDER_MICROSOFT, NULL, &endpoints, &error));
	mo_assert_no_error(error);
	assert_string_equal(MO_MICROSOFT_DEFAULT_TENANT, "common");
	assert_string_equal(endpoints.authorize_endpoint, MS_BASE "common/oauth2/v2.0/authorize");
	assert_string_equal(endpoints.token_endpoint, MS_BASE "common/oauth2/v2.0/token");
	assert_string_equal(endpoints.device_endpoint, MS_BASE "common/oauth2/v2.0/devicecode");
}

static void
test_microsoft_given_tenant(void **state)
{
	const gchar *tenants[] = {"organizations",
				  "consumers",
				  "contoso.onmicrosoft.com",
				  "9188040d-6c67-4c5b-b112-36a304b66dad"};

	for (guint i = 0; i < G_N_ELEMENTS(tenants); i++) {
		g_auto(MoEndpoints) endpoints = {NULL};
		g_autoptr(GError) error = NULL;
		g_autofree gchar *token =
			g_strconcat(MS_BASE, tenants[i], "/oauth2/v2.0/token", NULL);
		g_autofree gchar *authorize =
			g_strconcat(MS_BASE, tenants[i], "/oauth2/v2.0/authorize", NULL);
		g_autofree gchar *device =
			g_strconcat(MS_BASE, tenants[i], "/oauth2/v2.0/devicecode", NULL);

		assert_true(mo_provider_get_endpoints(MO_PROVIDER_MICROSOFT,
						      tenants[i],
						      &endpoints,
						      &error));
		mo_assert_no_error(error);
		assert_string_equal(endpoints.token_endpoint, token);
		assert_string_equal(endpoints.authorize_endpoint, authorize);
		assert_string_equal(endpoints.device_endpoint, device);
	}
}

static void
test_microsoft_hostile_tenant(void **state)
{
	g_autofree gchar *too_long = g_strnfill(256, 'a');
	const gchar *bad[] = {"../x",
			      "a/b",
			      "",
			      "a b",
			      "a?b",
			      "a#b",
			      "a%2fb",
			      "a\\b",
			      "evil.com@x",
			      "common/../../x",
			      too_long};

	for (guint i = 0; i < G_N_ELEMENTS(bad); i++) {
		MoEndpoints endpoints = {NULL};
		g_autoptr(GError) error = NULL;

		if (mo_provider_get_endpoints(MO_PROVIDER_MICROSOFT, bad[i], &endpoints, &error))
			fail_msg("tenant “%s” accepted: %s", bad[i], endpoints.token_endpoint);
		mo_assert_error(error, MO_ERROR, MO_ERROR_INVALID_ARGUMENT);
		/* nothing half-filled is left behind */
		assert_null(endpoints.token_endpoint);
		assert_null(endpoints.authorize_endpoint);
		assert_null(endpoints.device_endpoint);
	}
}

/* Regression: "." and ".." pass the tenant check, which allows dots anywhere, and
 * make a token URL whose path walks out of the tenant segment. */
static void
test_microsoft_dot_tenant(void **state)
{
	const gchar *bad[] = {"..", "."};

	for (guint i = 0; i < G_N_ELEMENTS(bad); i++) {
		g_auto(MoEndpoints) endpoints = {NULL};
		g_autoptr(GError) error = NULL;

		if (mo_provider_get_endpoints(MO_PROVIDER_MICROSOFT, bad[i], &endpoints, &error))
			fail_msg("tenant “%s” accepted: %s", bad[i], endpoints.token_endpoint);
		mo_assert_error(error, MO_ERROR, MO_ERROR_INVALID_ARGUMENT);
	}
}

static void
test_google_endpoints(void **state)
{
	g_auto(MoEndpoints) endpoints = {NULL};
	g_autoptr(GError) error = NULL;

	/* a tenant means nothing to Google and is ignored */
	assert_true(mo_provider_get_endpoints(MO_PROVIDER_GOOGLE, "ignored", &endpoints, &error));
	mo_assert_no_error(error);
	assert_string_equal(endpoints.authorize_endpoint,
			    "https://accounts.google.com/o/oauth2/auth");
	assert_string_equal(endpoints.token_endpoint, "https://oauth2.googleapis.com/token");
	/* Google has no device flow for the mail scope */
	assert_null(endpoints.device_endpoint);
}

static void
test_custom_endpoints_empty(void **state)
{
	MoEndpoints endpoints = {(gchar *)"stale", (gchar *)"stale", (gchar *)"stale"};
	g_autoptr(GError) error = NULL;

	assert_true(mo_provider_get_endpoints(MO_PROVIDER_CUSTOM, NULL, &endpoints, &error));
	mo_assert_no_error(error);
	assert_null(endpoints.authorize_endpoint);
	assert_null(endpoints.token_endpoint);
	assert_null(endpoints.device_endpoint);
}

static void
test_endpoints_clear(void **state)
{
	MoEndpoints endpoints = {NULL};

	assert_true(mo_provider_get_endpoints(MO_PROVIDER_MICROSOFT, NULL, &endpoints, NULL));
	mo_endpoints_clear(&endpoints);
	assert_null(endpoints.authorize_endpoint);
	assert_null(endpoints.token_endpoint);
	assert_null(endpoints.device_endpoint);
	/* twice is harmless */
	mo_endpoints_clear(&endpoints);
}

static void
assert_scopes(MoProvider provider, MoPurpose purpose, const gchar *expected)
{
	g_autofree gchar *scopes = mo_provider_get_scopes(provider, purpose);

	assert_string_equal(scopes, expected);
}

static void
test_scopes_microsoft(void **state)
{
	assert_scopes(MO_PROVIDER_MICROSOFT,
		      MO_PURPOSE_IMAP,
		      "https://outlook.office.com/IMAP.AccessAsUser.All offline_access");
	assert_scopes(MO_PROVIDER_MICROSOFT,
		      MO_PURPOSE_SMTP,
		      "https://outlook.office.com/SMTP.Send offline_access");
	assert_scopes(MO_PROVIDER_MICROSOFT,
		      MO_PURPOSE_POP,
		      "https://outlook.office.com/POP.AccessAsUser.All offline_access");
	assert_scopes(MO_PROVIDER_MICROSOFT,
		      MO_PURPOSE_ALL,
		      "https://outlook.office.com/IMAP.AccessAsUser.All "
		      "https://outlook.office.com/SMTP.Send offline_access");
	assert_scopes(MO_PROVIDER_MICROSOFT,
		      MO_PURPOSE_IMAP | MO_PURPOSE_POP | MO_PURPOSE_SMTP,
		      "https://outlook.office.com/IMAP.AccessAsUser.All "
		      "https://outlook.office.com/POP.AccessAsUser.All "
		      "https://outlook.office.com/SMTP.Send offline_access");
}

/* IMAP rejects tokens for the outlook.office365.com audience. */
static void
test_scopes_microsoft_host(void **state)
{
	g_autofree gchar *scopes = mo_provider_get_scopes(MO_PROVIDER_MICROSOFT, MO_PURPOSE_ALL);
	g_auto(GStrv) list = g_strsplit(scopes, " ", -1);

	mo_assert_str_lacks(scopes, "office365");
	for (guint i = 0; list[i] != NULL; i++) {
		if (g_strcmp0(list[i], "offline_access") != 0)
			assert_true(g_str_has_prefix(list[i], "https://outlook.office.com/"));
	}
}

static void
test_scopes_google_and_custom(void **state)
{
	assert_scopes(MO_PROVIDER_GOOGLE, MO_PURPOSE_IMAP, "https://mail.google.com/");
	assert_scopes(MO_PROVIDER_GOOGLE, MO_PURPOSE_ALL, "https://mail.google.com/");
	assert_scopes(MO_PROVIDER_CUSTOM, MO_PURPOSE_ALL, "openid offline_access");
}

static void
assert_endpoint_ok(const gchar *url)
{
	g_autoptr(GError) error = NULL;

	if (!mo_url_check_endpoint(url, &error))
		fail_msg("endpoint %s refused: %s", url, error->message);
}

static void
assert_endpoint_refused(const gchar *url)
{
	g_autoptr(GError) error = NULL;

	if (mo_url_check_endpoint(url, &error))
		fail_msg("endpoint %s accepted", url);
	mo_assert_error(error, MO_ERROR, MO_ERROR_INVALID_ARGUMENT);
}

static void
test_url_check_endpoint_accepts(void **state)
{
	assert_endpoint_ok("https://login.microsoftonline.com/common/oauth2/v2.0/token");
	assert_endpoint_ok("https://example.com");
	assert_endpoint_ok("HTTPS://Example.COM/token");
	assert_endpoint_ok("http://127.0.0.1:8080");
	assert_endpoint_ok("http://127.0.0.1:8080/token");
	assert_endpoint_ok("http://127.1.2.3/token");
	assert_endpoint_ok("http://localhost");
	assert_endpoint_ok("http://localhost:3000/token");
	assert_endpoint_ok("http://LOCALHOST/token");
	assert_endpoint_ok("http://[::1]:1/");
}

static void
test_url_check_endpoint_refuses(void **state)
{
	assert_endpoint_refused("http://127.0.0.1.evil.com");
	assert_endpoint_refused("http://127.0.0.1.evil.com/token");
	assert_endpoint_refused("http://localhost.evil.com/token");
	assert_endpoint_refused("http://evil.com/127.0.0.1");
	assert_endpoint_refused("http://127.0.0.1@evil.com/");
	assert_endpoint_refused("http://example.com");
	assert_endpoint_refused("http://10.0.0.1/token");
	/* dotted quads only */
	assert_endpoint_refused("http://127.0.0.0.1/token");
	assert_endpoint_refused("http://[::2]/token");
	assert_endpoint_refused("ftp://example.com/token");
	assert_endpoint_refused("ftp://127.0.0.1/token");
	assert_endpoint_refused("file:///etc/passwd");
	assert_endpoint_refused("javascript:alert(1)");
	assert_endpoint_refused("https://");
	assert_endpoint_refused("https:///token");
	assert_endpoint_refused("//example.com/token");
	assert_endpoint_refused("example.com/token");
	assert_endpoint_refused("garbage");
	assert_endpoint_refused("");
	assert_endpoint_refused(NULL);
}

static void
test_url_is_loopback(void **state)
{
	assert_true(mo_url_is_loopback("http://127.0.0.1:9/"));
	assert_true(mo_url_is_loopback("http://localhost/"));
	assert_true(mo_url_is_loopback("http://[::1]:80/"));
	assert_false(mo_url_is_loopback("http://127.0.0.1.evil.com/"));
	assert_false(mo_url_is_loopback("https://example.com/"));
	assert_false(mo_url_is_loopback("garbage"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_from_string),
		cmocka_unit_test(test_to_string_round_trip),
		cmocka_unit_test(test_microsoft_default_tenant),
		cmocka_unit_test(test_microsoft_given_tenant),
		cmocka_unit_test(test_microsoft_hostile_tenant),
		cmocka_unit_test(test_google_endpoints),
		cmocka_unit_test(test_custom_endpoints_empty),
		cmocka_unit_test(test_endpoints_clear),
		cmocka_unit_test(test_scopes_microsoft),
		cmocka_unit_test(test_scopes_microsoft_host),
		cmocka_unit_test(test_scopes_google_and_custom),
		cmocka_unit_test(test_url_check_endpoint_accepts),
		cmocka_unit_test(test_url_check_endpoint_refuses),
		cmocka_unit_test(test_url_is_loopback),
		cmocka_unit_test(test_microsoft_dot_tenant),
	};

	mo_test_init();
	cmocka_set_message_output(CM_OUTPUT_TAP);
	return cmocka_run_group_tests_name("unit/provider", tests, NULL, NULL);
}
