/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A SASL client as mail programs are, for the tests: it loads the plugins of one directory
 * into the real libsasl2, authenticates once (or --repeat times) with a password read from
 * stdin, and prints what it would send to the server ("initial:" is its first message, sent
 * as an initial response or after the server's empty challenge), with ^A shown as "^A". Either
 * postfix's way (callbacks) or mbsync's (interaction prompts).
 *
 *   mo-sasl-probe --dir DIR --mech XOAUTH2|OAUTHBEARER --user USER [--prompts]
 *                 [--challenge JSON] [--repeat N] [--reload] [--maps] [--rss] < password
 *
 * Exit status: 0 when every step went as libsasl2 allows, 1 otherwise, 2 on usage errors.
 * --maps prints the shared objects mapped into the process afterwards. --rss prints the
 * process's VmRSS and VmHWM (from /proc/self/status) after the 10th and after the last
 * authentication, for the benchmark's memory-growth check (tests/bench):
 *   rss: after=10 VmRSS=1234 VmHWM=1300   (kB) */
#include "config.h"

#include <glib.h>
#include <sasl/sasl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
	gchar *dir;
	gchar *mech;
	gchar *user;
	gchar *challenge;
	gboolean prompts;
	gboolean reload;
	gboolean maps;
	gboolean rss;
	gboolean no_ir;
	gboolean success;
	gint repeat;
	gchar *password;
} Probe;

static Probe probe = {.repeat = 1};
static sasl_secret_t *probe_secret = NULL;

static int
probe_get_simple(void *context, int id, const char **result, unsigned *len)
{
	if (id != SASL_CB_AUTHNAME && id != SASL_CB_USER)
		return SASL_FAIL;
	*result = probe.user;
	if (len != NULL)
		*len = strlen(probe.user);
	return SASL_OK;
}

static int
probe_get_secret(sasl_conn_t *conn, void *context, int id, sasl_secret_t **psecret)
{
	gsize len = strlen(probe.password);

	if (id != SASL_CB_PASS)
		return SASL_FAIL;
	g_free(probe_secret);
	probe_secret = g_malloc0(sizeof(sasl_secret_t) + len + 1);
	probe_secret->len = len;
	memcpy(probe_secret->data, probe.password, len);
	*psecret = probe_secret;
	return SASL_OK;
}

static void
probe_print(const gchar *label, const char *data, unsigned len)
{
	GString *out = g_string_new(NULL);

	for (unsigned i = 0; i < len; i++) {
		if (data[i] == '\001')
			g_string_append(out, "^A");
		else
			g_string_append_c(out, data[i]);
	}
	printf("%s: %s\n", label, out->str);
	g_string_free(out, TRUE);
}

/* mbsync's way: answer the prompts libsasl2 hands back. */
static void
probe_answer_prompts(sasl_interact_t *interact)
{
	for (sasl_interact_t *p = interact; p->id != SASL_CB_LIST_END; p++) {
		const gchar *answer = p->id == SASL_CB_PASS ? probe.password : probe.user;
		printf("prompt: %s\n", p->id == SASL_CB_PASS ? "password" : "authname");
		p->result = answer;
		p->len = strlen(answer);
	}
}

/* --no-ir: like mbsync with a server without SASL-IR, no initial response is asked for. */
static int
probe_start(sasl_conn_t *conn, const char **out, unsigned *outlen)
{
	sasl_interact_t *interact = NULL;
	const char *mech = NULL;
	int result;

	do {
		result = sasl_client_start(conn,
					   probe.mech,
					   &interact,
					   probe.no_ir ? NULL : out,
					   probe.no_ir ? NULL : outlen,
					   &mech);
		if (result == SASL_INTERACT)
			probe_answer_prompts(interact);
	} while (result == SASL_INTERACT);
	return result;
}

static int
probe_step(sasl_conn_t *conn, const char *in, unsigned inlen, const char **out, unsigned *outlen)
{
	sasl_interact_t *interact = NULL;
	int result;

	do {
		result = sasl_client_step(conn, in, inlen, &interact, out, outlen);
		if (result == SASL_INTERACT)
			probe_answer_prompts(interact);
	} while (result == SASL_INTERACT);
	return result;
}

static gboolean
probe_once(void)
{
	sasl_callback_t callbacks[] = {
		{SASL_CB_AUTHNAME,
		 probe.prompts ? NULL : (int (*)(void))(void (*)(void))probe_get_simple,
		 NULL},
		{SASL_CB_PASS,
		 probe.prompts ? NULL : (int (*)(void))(void (*)(void))probe_get_secret,
		 NULL},
		{SASL_CB_LIST_END, NULL, NULL},
	};
	sasl_conn_t *conn = NULL;
	const char *out = NULL;
	unsigned outlen = 0;
	int result;

	result = sasl_client_new("imap", "localhost", NULL, "127.0.0.1;993", callbacks, 0, &conn);
	if (result != SASL_OK) {
		printf("client_new: %s\n", sasl_errstring(result, NULL, NULL));
		return FALSE;
	}
	result = probe_start(conn, &out, &outlen);
	printf("start: %s\n", sasl_errstring(result, NULL, NULL));
	if (result != SASL_CONTINUE && result != SASL_OK) {
		printf("detail: %s\n", sasl_errdetail(conn));
		sasl_dispose(&conn);
		return FALSE;
	}
	/* no initial response: the client sends the bare command, the server an empty
	 * challenge, and the plugin's first message answers it */
	if (out == NULL && outlen == 0) {
		printf("initial-response: none\n");
		result = probe_step(conn, "", 0, &out, &outlen);
		printf("step: %s\n", sasl_errstring(result, NULL, NULL));
	}
	probe_print("initial", out, outlen);
	if (probe.challenge != NULL) {
		result = probe_step(conn, probe.challenge, strlen(probe.challenge), &out, &outlen);
		printf("step: %s\n", sasl_errstring(result, NULL, NULL));
		if (result == SASL_CONTINUE || result == SASL_OK)
			probe_print("response", out, outlen);
		printf("detail: %s\n", sasl_errdetail(conn));
	} else if (probe.success) {
		/* the server said OK; mbsync then steps once more with nothing */
		result = probe_step(conn, NULL, 0, &out, &outlen);
		printf("final: %s, %u byte(s)\n", sasl_errstring(result, NULL, NULL), outlen);
		printf("detail: %s\n", sasl_errdetail(conn));
	}
	sasl_dispose(&conn);
	return TRUE;
}

static gboolean
probe_init(void)
{
	int result = sasl_set_path(SASL_PATH_TYPE_PLUGIN, probe.dir);

	if (result == SASL_OK)
		result = sasl_client_init(NULL);
	if (result != SASL_OK) {
		printf("client_init: %s\n", sasl_errstring(result, NULL, NULL));
		return FALSE;
	}
	return TRUE;
}

static void
probe_print_maps(void)
{
	g_autofree gchar *maps = NULL;
	g_auto(GStrv) lines = NULL;
	g_autoptr(GHashTable) seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);

	if (!g_file_get_contents("/proc/self/maps", &maps, NULL, NULL))
		return;
	lines = g_strsplit(maps, "\n", -1);
	for (guint i = 0; lines[i] != NULL; i++) {
		const gchar *path = strchr(lines[i], '/');
		if (path != NULL && strstr(path, ".so") != NULL &&
		    g_hash_table_add(seen, g_strdup(path)))
			printf("mapped: %s\n", path);
	}
}

/* One "rss:" line: VmRSS and VmHWM of this process in kB, after @count authentications. */
static void
probe_print_rss(guint count)
{
	g_autofree gchar *status = NULL;
	g_auto(GStrv) lines = NULL;
	const gchar *rss = "?";
	const gchar *hwm = "?";

	if (g_file_get_contents("/proc/self/status", &status, NULL, NULL))
		lines = g_strsplit(status, "\n", -1);
	for (guint i = 0; lines != NULL && lines[i] != NULL; i++) {
		gchar *value = strchr(lines[i], ':');
		if (value == NULL)
			continue;
		*value++ = '\0';
		value = g_strstrip(value);
		if (g_str_has_suffix(value, " kB"))
			value[strlen(value) - 3] = '\0';
		if (strcmp(lines[i], "VmRSS") == 0)
			rss = value;
		else if (strcmp(lines[i], "VmHWM") == 0)
			hwm = value;
	}
	printf("rss: after=%u VmRSS=%s VmHWM=%s\n", count, rss, hwm);
	fflush(stdout);
}

static gboolean
probe_parse(int argc, char **argv)
{
	const GOptionEntry entries[] = {
		{"dir", 0, 0, G_OPTION_ARG_FILENAME, &probe.dir, "Plugin directory", "DIR"},
		{"mech", 0, 0, G_OPTION_ARG_STRING, &probe.mech, "Mechanism", "MECH"},
		{"user", 0, 0, G_OPTION_ARG_STRING, &probe.user, "Authentication name", "USER"},
		{"challenge",
		 0,
		 0,
		 G_OPTION_ARG_STRING,
		 &probe.challenge,
		 "Server challenge",
		 "TEXT"},
		{"prompts",
		 0,
		 0,
		 G_OPTION_ARG_NONE,
		 &probe.prompts,
		 "Interaction, not callbacks",
		 NULL},
		{"repeat", 0, 0, G_OPTION_ARG_INT, &probe.repeat, "Authentications per init", "N"},
		{"reload",
		 0,
		 0,
		 G_OPTION_ARG_NONE,
		 &probe.reload,
		 "sasl_done, then init again",
		 NULL},
		{"maps", 0, 0, G_OPTION_ARG_NONE, &probe.maps, "Print mapped libraries", NULL},
		{"no-ir",
		 0,
		 0,
		 G_OPTION_ARG_NONE,
		 &probe.no_ir,
		 "Ask for no initial response",
		 NULL},
		{"success",
		 0,
		 0,
		 G_OPTION_ARG_NONE,
		 &probe.success,
		 "Step once more after the server's OK",
		 NULL},
		{"rss",
		 0,
		 0,
		 G_OPTION_ARG_NONE,
		 &probe.rss,
		 "Print VmRSS/VmHWM after the 10th and the last authentication",
		 NULL},
		{NULL},
	};
	g_autoptr(GOptionContext) context = g_option_context_new(NULL);
	gchar line[16384];

	g_option_context_add_main_entries(context, entries, NULL);
	if (!g_option_context_parse(context, &argc, &argv, NULL) || probe.dir == NULL ||
	    probe.mech == NULL || probe.user == NULL || probe.repeat < 1)
		return FALSE;
	if (fgets(line, sizeof(line), stdin) == NULL)
		line[0] = '\0';
	line[strcspn(line, "\n")] = '\0';
	probe.password = g_strdup(line);
	return TRUE;
}

int
main(int argc, char **argv)
{
	gboolean ok = TRUE;
	guint done = 0;

	if (!probe_parse(argc, argv)) {
		fprintf(stderr,
			"usage: mo-sasl-probe --dir DIR --mech MECH --user USER < password\n");
		return 2;
	}
	for (guint round = 0; ok && round < (probe.reload ? 2u : 1u); round++) {
		ok = probe_init();
		for (gint i = 0; ok && i < probe.repeat; i++) {
			ok = probe_once();
			done++;
			if (probe.rss && done == 10)
				probe_print_rss(done);
		}
		sasl_done();
	}
	if (probe.rss)
		probe_print_rss(done);
	if (probe.maps)
		probe_print_maps();
	g_free(probe_secret);
	return ok ? 0 : 1;
}
