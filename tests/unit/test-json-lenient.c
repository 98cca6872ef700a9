/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "mo-json-lenient.h"
#include "mo-json.h"
#include "mo-test.h"

typedef struct {
	const gchar *in;
	const gchar *out; /* compact serialization of what the strict parser reads after it */
} LenientCase;

static const LenientCase cases[] = {
	{"{\"a\":1}", "{\"a\":1}"},
	{"\xef\xbb\xbf{\"a\":1}", "{\"a\":1}"},
	{"{\"a\":1, // one\n\"b\":2}", "{\"a\":1,\"b\":2}"},
	{"{/* a */\"a\":/* b */1}", "{\"a\":1}"},
	{"{\"a\":1,}", "{\"a\":1}"},
	{"{\"a\":[1,2, ], }", "{\"a\":[1,2]}"},
	{"{\"a\":1, /* last */ }", "{\"a\":1}"},
	{"{\"a\":\"x//y\"}", "{\"a\":\"x//y\"}"},
	{"{\"a\":\"x/*y*/\"}", "{\"a\":\"x/*y*/\"}"},
	{"{\"a\":\"q\\\" // \\\"\"}", "{\"a\":\"q\\\" // \\\"\"}"},
	{"{\"a\":\",}\"}", "{\"a\":\",}\"}"},
};

static void
test_cases(void **state)
{
	for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autoptr(GError) error = NULL;
		g_autoptr(MoJson) json = NULL;
		g_autofree gchar *clean = NULL;
		g_autofree gchar *out = NULL;
		gsize len = 0;

		clean = mo_json_lenient_clean(cases[i].in, strlen(cases[i].in), &len);
		json = mo_json_parse(clean, (gssize)len, &error);
		if (json == NULL)
			fail_msg("case %u (%s): %s", i, cases[i].in, error->message);
		out = mo_json_serialize(json, FALSE);
		if (g_strcmp0(out, cases[i].out) != 0)
			fail_msg("case %u: “%s” read as “%s”, expected “%s”",
				 i,
				 cases[i].in,
				 out,
				 cases[i].out);
	}
}

/* What sasl-xoauth2 does not take either is left for the strict parser to refuse. */
static void
test_still_strict(void **state)
{
	const gchar *bad[] = {"{\"a\":1,,}", "{'a':1}", "{\"a\":1 /* open", "[1,]]"};

	for (guint i = 0; i < G_N_ELEMENTS(bad); i++) {
		g_autoptr(GError) error = NULL;
		g_autoptr(MoJson) json = NULL;
		g_autofree gchar *clean = NULL;
		gsize len = 0;

		clean = mo_json_lenient_clean(bad[i], strlen(bad[i]), &len);
		json = mo_json_parse(clean, (gssize)len, &error);
		if (json != NULL)
			fail_msg("“%s” was accepted", bad[i]);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cases),
		cmocka_unit_test(test_still_strict),
	};

	mo_test_init();
	cmocka_set_message_output(CM_OUTPUT_TAP);
	return cmocka_run_group_tests_name("unit/json-lenient", tests, NULL, NULL);
}
