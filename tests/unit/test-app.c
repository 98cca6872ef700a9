/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "mo-app.h"
#include "mo-error.h"
#include "mo-json.h"
#include "mo-test.h"

static MoApp *
app_new(MoProvider provider, const gchar *client_id)
{
	MoApp *app = mo_app_new("work", provider);

	app->client_id = g_strdup(client_id);
	return app;
}

static void
test_fill_endpoints_microsoft(void **state)
{
	g_autoptr(MoApp) app = app_new(MO_PROVIDER_MICROSOFT, "cid");
	g_autoptr(GError) error = NULL;

	assert_true(mo_app_fill_endpoints(app, &error));
	mo_assert_no_error(error);
	assert_string_equal(app->token_endpoint,
			    "https://login.microsoftonline.com/common/oauth2/v2.0/token");
	assert_string_equal(app->device_endpoint,
			    "https://login.microsoftonline.com/common/oauth2/v2.0/devicecode");
	assert_true(mo_app_validate(app, &error));
	mo_assert_no_error(error);
}

static void
test_fill_endpoints_keeps_given(void **state)
{
	g_autoptr(MoApp) app = app_new(MO_PROVIDER_MICROSOFT, "cid");
	g_autoptr(GError) error = NULL;

	app->tenant = g_strdup("organizations");
	app->token_endpoint = g_strdup("http://127.0.0.1:8080/token");
	assert_true(mo_app_fill_endpoints(app, &error));
	mo_assert_no_error(error);
	assert_string_equal(app->token_endpoint, "http://127.0.0.1:8080/token");
	assert_string_equal(
		app->authorize_endpoint,
		"https://login.microsoftonline.com/organizations/oauth2/v2.0/authorize");
}

static void
test_fill_endpoints_bad_tenant(void **state)
{
	g_autoptr(MoApp) app = app_new(MO_PROVIDER_MICROSOFT, "cid");
	g_autoptr(GError) error = NULL;

	app->tenant = g_strdup("../x");
	assert_false(mo_app_fill_endpoints(app, &error));
	mo_assert_error(error, MO_ERROR, MO_ERROR_INVALID_ARGUMENT);
	assert_null(app->token_endpoint);
}

static void
test_fill_endpoints_google(void **state)
{
	g_autoptr(MoApp) app = app_new(MO_PROVIDER_GOOGLE, "cid");

	assert_true(mo_app_fill_endpoints(app, NULL));
	assert_string_equal(app->token_endpoint, "https://oauth2.googleapis.com/token");
	assert_null(app->device_endpoint);
}

static void
assert_invalid(const MoApp *app, const gchar *expected_in_message)
{
	g_autoptr(GError) error = NULL;

	assert_false(mo_app_validate(app, &error));
	mo_assert_error(error, MO_ERROR, MO_ERROR_INVALID_ARGUMENT);
	mo_assert_str_contains(error->message, expected_in_message);
}

static void
test_validate(void **state)
{
	g_autoptr(MoApp) app = app_new(MO_PROVIDER_CUSTOM, NULL);

	assert_invalid(app, "work");
	app->client_id = g_strdup("");
	assert_invalid(app, "client ID");
	g_free(app->client_id);
	app->client_id = g_strdup("cid");
	assert_invalid(app, "token endpoint");
	app->token_endpoint = g_strdup("http://example.com/token");
	assert_invalid(app, "https://");
	g_free(app->token_endpoint);
	app->token_endpoint = g_strdup("http://127.0.0.1:1/token");
	assert_true(mo_app_validate(app, NULL));
	/* every endpoint is checked, not only the one used for refresh */
	app->device_endpoint = g_strdup("ftp://example.com/device");
	assert_invalid(app, "ftp://example.com/device");
	g_clear_pointer(&app->device_endpoint, g_free);
	app->authorize_endpoint = g_strdup("http://evil.example/auth");
	assert_invalid(app, "http://evil.example/auth");
}

static void
test_json_round_trip(void **state)
{
	g_autoptr(MoApp) app = app_new(MO_PROVIDER_MICROSOFT, "cid");
	g_autoptr(MoApp) copy = NULL;
	g_autoptr(GError) error = NULL;
	g_autofree gchar *json = NULL;

	app->tenant = g_strdup("contoso.onmicrosoft.com");
	app->client_secret = g_strdup("s3cr+t");
	assert_true(mo_app_fill_endpoints(app, NULL));
	json = mo_app_to_json(app);
	mo_assert_str_contains(json, "\"version\":1");
	copy = mo_app_from_json(json, "work", &error);
	mo_assert_no_error(error);
	assert_non_null(copy);
	assert_string_equal(copy->name, "work");
	assert_int_equal(copy->provider, MO_PROVIDER_MICROSOFT);
	assert_string_equal(copy->tenant, "contoso.onmicrosoft.com");
	assert_string_equal(copy->client_id, "cid");
	assert_string_equal(copy->client_secret, "s3cr+t");
	assert_string_equal(copy->token_endpoint, app->token_endpoint);
	assert_string_equal(copy->authorize_endpoint, app->authorize_endpoint);
	assert_string_equal(copy->device_endpoint, app->device_endpoint);
}

static void
test_json_fills_preset_endpoints(void **state)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(MoApp) app =
		mo_app_from_json("{\"version\":1,\"provider\":\"google\",\"client_id\":\"cid\"}",
				 "g",
				 &error);

	mo_assert_no_error(error);
	assert_int_equal(app->provider, MO_PROVIDER_GOOGLE);
	assert_string_equal(app->token_endpoint, "https://oauth2.googleapis.com/token");
	assert_null(app->client_secret);
}

static void
test_json_without_provider_is_custom(void **state)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(MoApp) app = mo_app_from_json(
		"{\"client_id\":\"cid\",\"token_endpoint\":\"https://example.com/t\"}",
		"c",
		&error);

	mo_assert_no_error(error);
	assert_int_equal(app->provider, MO_PROVIDER_CUSTOM);
	assert_string_equal(app->token_endpoint, "https://example.com/t");
	assert_null(app->authorize_endpoint);
}

static void
assert_from_json_fails(const gchar *json, const gchar *expected_in_message)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(MoApp) app = mo_app_from_json(json, "work", &error);

	if (app != NULL)
		fail_msg("app JSON accepted: %s", json);
	assert_non_null(error);
	assert_int_equal(error->domain, MO_ERROR);
	mo_assert_str_contains(error->message, expected_in_message);
}

static void
test_json_refused(void **state)
{
	assert_from_json_fails("{\"version\":2,\"client_id\":\"cid\"}", "version 2");
	assert_from_json_fails("{\"provider\":\"yahoo\"}", "yahoo");
	assert_from_json_fails("{\"provider\":\"microsoft\",\"tenant\":\"a/b\"}", "a/b");
	assert_from_json_fails("{\"client_id\":7}", "client_id");
	assert_from_json_fails("[]", "work");
	assert_from_json_fails("", "work");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fill_endpoints_microsoft),
		cmocka_unit_test(test_fill_endpoints_keeps_given),
		cmocka_unit_test(test_fill_endpoints_bad_tenant),
		cmocka_unit_test(test_fill_endpoints_google),
		cmocka_unit_test(test_validate),
		cmocka_unit_test(test_json_round_trip),
		cmocka_unit_test(test_json_fills_preset_endpoints),
		cmocka_unit_test(test_json_without_provider_is_custom),
		cmocka_unit_test(test_json_refused),
	};

	mo_test_init();
	cmocka_set_message_output(CM_OUTPUT_TAP);
	return cmocka_run_group_tests_name("unit/app", tests, NULL, NULL);
}
