/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dlfcn.h>
#include <sasl/sasl.h>
#include <sasl/saslplug.h>

#include "mo-test.h"

/* The plugin as built and installed (libmailoauth.so), loaded as libsasl2 loads it; its
 * path comes from meson. These are the checks of sasl_client_plug_init that libsasl2 does
 * not make visible: what it says to an old libsasl2, and what it advertises. Mechanism steps
 * are driven through the real libsasl2 in tests/integration/test-sasl.sh. */
#define TEST_PLUGIN_ENV "MO_SASL_PLUGIN"

/* What the plugin must advertise: DESIGN.md §5 and the comment in mo-sasl-plugin.c. */
#define TEST_MAX_SSF 60

typedef int (*PlugInitFunc)(const sasl_utils_t *utils,
			    int max_version,
			    int *out_version,
			    sasl_client_plug_t **pluglist,
			    int *plugcount);

static void *plugin;
static PlugInitFunc plug_init;
static gchar *last_error;
static guint n_errors;

static void fake_seterror(sasl_conn_t *conn, unsigned flags, const char *fmt, ...)
	G_GNUC_PRINTF(3, 4);

static void
fake_seterror(sasl_conn_t *conn, unsigned flags, const char *fmt, ...)
{
	va_list args;

	va_start(args, fmt);
	g_free(last_error);
	last_error = g_strdup_vprintf(fmt, args);
	va_end(args);
	n_errors++;
}

/* Only seterror: sasl_client_plug_init must not need anything else to be cheap and safe. */
static sasl_utils_t *
fake_utils_new(void)
{
	sasl_utils_t *utils = g_new0(sasl_utils_t, 1);

	utils->seterror = fake_seterror;
	g_clear_pointer(&last_error, g_free);
	n_errors = 0;
	return utils;
}

static gint
setup(void **state)
{
	const gchar *path = g_getenv(TEST_PLUGIN_ENV);

	if (path == NULL) {
		g_printerr("%s is not set: run through meson test\n", TEST_PLUGIN_ENV);
		return -1;
	}
	plugin = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (plugin == NULL) {
		g_printerr("cannot load %s: %s\n", path, dlerror());
		return -1;
	}
	plug_init = (PlugInitFunc)dlsym(plugin, "sasl_client_plug_init");
	return 0;
}

static gint
teardown(void **state)
{
	/* the plugin is linked with -z nodelete: this does not unmap it */
	if (plugin != NULL)
		dlclose(plugin);
	g_clear_pointer(&last_error, g_free);
	return 0;
}

/* One symbol: core's must not clash with those of the host or of another plugin. */
static void
test_exports_only_entry_point(void **state)
{
	const gchar *hidden[] = {
		"mo_sasl_classify",
		"mo_sasl_resolve_token",
		"mo_sasl_xoauth2_response",
		"mo_json_parse",
		"mo_refresh_get_token",
		"mo_file_replace",
		"mo_error_quark",
	};

	assert_non_null(plug_init);
	for (guint i = 0; i < G_N_ELEMENTS(hidden); i++) {
		if (dlsym(plugin, hidden[i]) != NULL)
			fail_msg("the plugin exports %s", hidden[i]);
	}
}

static void
test_init_old_libsasl2(void **state)
{
	g_autofree sasl_utils_t *utils = fake_utils_new();
	sasl_client_plug_t *list = NULL;
	int version = -1;
	int count = -1;
	int rc;

	rc = plug_init(utils, SASL_CLIENT_PLUG_VERSION - 1, &version, &list, &count);
	assert_int_equal(rc, SASL_BADVERS);
	/* libsasl2 logs this: it must say whose plugin and why */
	assert_int_equal(n_errors, 1);
	mo_assert_str_contains(last_error, "mailoauth");
	mo_assert_str_contains(last_error, "3");
	mo_assert_str_contains(last_error, "4");
	/* nothing handed out */
	assert_null(list);
	assert_int_equal(version, -1);
	assert_int_equal(count, -1);
}

static void
assert_mechanism(const sasl_client_plug_t *mech, const gchar *name)
{
	gboolean has_user = FALSE;
	gboolean has_pass = FALSE;

	assert_string_equal(mech->mech_name, name);
	assert_int_equal(mech->max_ssf, TEST_MAX_SSF);
	/* postfix's default noanonymous, noplaintext must not hide it */
	assert_true(mech->security_flags & SASL_SEC_NOANONYMOUS);
	assert_true(mech->security_flags & SASL_SEC_NOPLAINTEXT);
	/* nor may it claim what a bearer token does not give */
	assert_false(mech->security_flags & SASL_SEC_MUTUAL_AUTH);
	assert_false(mech->security_flags & SASL_SEC_FORWARD_SECRECY);
	assert_false(mech->security_flags & SASL_SEC_NOACTIVE);
	assert_false(mech->security_flags & SASL_SEC_NODICTIONARY);
	/* the initial response goes with AUTHENTICATE */
	assert_true(mech->features & SASL_FEAT_WANT_CLIENT_FIRST);
	assert_false(mech->features & SASL_FEAT_SERVER_FIRST);
	assert_non_null(mech->mech_new);
	assert_non_null(mech->mech_step);
	assert_non_null(mech->mech_dispose);
	assert_non_null(mech->required_prompts);
	for (const unsigned long *p = mech->required_prompts; *p != SASL_CB_LIST_END; p++) {
		has_user = has_user || *p == SASL_CB_AUTHNAME;
		has_pass = has_pass || *p == SASL_CB_PASS;
	}
	assert_true(has_user);
	assert_true(has_pass);
}

static void
assert_plugin_list(int max_version)
{
	g_autofree sasl_utils_t *utils = fake_utils_new();
	sasl_client_plug_t *list = NULL;
	int version = -1;
	int count = -1;
	int rc;

	rc = plug_init(utils, max_version, &version, &list, &count);
	assert_int_equal(rc, SASL_OK);
	assert_int_equal(n_errors, 0);
	assert_int_equal(version, SASL_CLIENT_PLUG_VERSION);
	assert_int_equal(count, 2);
	assert_non_null(list);
	assert_mechanism(&list[0], "XOAUTH2");
	assert_mechanism(&list[1], "OAUTHBEARER");
	/* one implementation, told apart by glob_context */
	assert_ptr_not_equal(list[0].glob_context, list[1].glob_context);
}

static void
test_init_current_libsasl2(void **state)
{
	assert_plugin_list(SASL_CLIENT_PLUG_VERSION);
}

/* A newer libsasl2 offers a higher version and gets ours. */
static void
test_init_newer_libsasl2(void **state)
{
	assert_plugin_list(SASL_CLIENT_PLUG_VERSION + 1);
}

/* libsasl2 calls it again after an unload and reload: same answer, nothing kept. */
static void
test_init_twice(void **state)
{
	g_autofree sasl_utils_t *utils = fake_utils_new();
	sasl_client_plug_t *first = NULL;
	sasl_client_plug_t *second = NULL;
	int version = 0;
	int count = 0;

	assert_int_equal(plug_init(utils, SASL_CLIENT_PLUG_VERSION, &version, &first, &count),
			 SASL_OK);
	assert_int_equal(plug_init(utils, SASL_CLIENT_PLUG_VERSION, &version, &second, &count),
			 SASL_OK);
	assert_ptr_equal(first, second);
	assert_int_equal(count, 2);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exports_only_entry_point),
		cmocka_unit_test(test_init_old_libsasl2),
		cmocka_unit_test(test_init_current_libsasl2),
		cmocka_unit_test(test_init_newer_libsasl2),
		cmocka_unit_test(test_init_twice),
	};

	mo_test_init();
	cmocka_set_message_output(CM_OUTPUT_TAP);
	return cmocka_run_group_tests_name("unit/sasl-plugin", tests, setup, teardown);
}
