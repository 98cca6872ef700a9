/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <glib/gstdio.h>
#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "mo-error.h"
#include "mo-file-store.h"
#include "mo-json.h"
#include "mo-refresh.h"
#include "mo-test-server.h"
#include "mo-test.h"

/* "nobody"/"nogroup" on Debian: an owner that is not the test's (root's). */
#define TEST_OTHER_UID 65534
#define TEST_OTHER_GID 65534
#define TEST_USER      "me@example.com"

static gchar *test_dir;

/* One token file in a directory of its own, and the server its token_endpoint names. */
typedef struct {
	gchar *dir;
	gchar *path;
	MoTestServer *server;
} Fixture;

static void
fixture_free(Fixture *fx)
{
	mo_test_server_free(fx->server);
	g_free(fx->dir);
	g_free(fx->path);
	g_free(fx);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC(Fixture, fixture_free)

static gchar *
read_text(const gchar *path)
{
	g_autoptr(GError) error = NULL;
	gchar *data = NULL;

	if (!g_file_get_contents(path, &data, NULL, &error))
		fail_msg("cannot read %s: %s", path, error->message);
	return data;
}

/* A sasl-xoauth2 token file with keys we do not know around the ones we do, and @expiry
 * (JSON text, or NULL for none) as the expiry. */
static gchar *
token_file_text(const Fixture *fx, const gchar *expiry, gboolean with_client)
{
	g_autofree gchar *endpoint = mo_test_server_get_url(fx->server, "/token");
	GString *text = g_string_new("{\n");

	g_string_append(text, "  \"x-comment\": \"written by hand\",\n");
	g_string_append(text, "  \"access_token\": \"old-a\",\n");
	g_string_append(text, "  \"refresh_window\": 300,\n");
	g_string_append(text, "  \"refresh_token\": \"old-r\",\n");
	if (expiry != NULL)
		g_string_append_printf(text, "  \"expiry\": %s,\n", expiry);
	g_string_append(text, "  \"user\": \"" TEST_USER "\",\n");
	if (with_client) {
		g_string_append(text, "  \"client_id\": \"file-client\",\n");
		g_string_append(text, "  \"client_secret\": \"file s3cr+t\",\n");
	}
	g_string_append_printf(text, "  \"token_endpoint\": \"%s\",\n", endpoint);
	g_string_append(text, "  \"proxy\": null,\n");
	g_string_append(text, "  \"ca_bundle_file\": \"/etc/ssl/certs/ca-certificates.crt\",\n");
	g_string_append(text, "  \"x-nested\": {\"list\": [1, \"two\", true], \"n\": 1.50}\n");
	g_string_append(text, "}\n");
	return g_string_free(text, FALSE);
}

/* The keys of token_file_text() in their order. */
static const gchar *const token_file_keys[] = {
	"x-comment",
	"access_token",
	"refresh_window",
	"refresh_token",
	"expiry",
	"user",
	"client_id",
	"client_secret",
	"token_endpoint",
	"proxy",
	"ca_bundle_file",
	"x-nested",
};

/* A token file whose access token expires in @seconds_left (<= 0: already expired),
 * written as sasl-xoauth2 does, a decimal string. */
static gchar *
expiry_in(gint64 seconds_left)
{
	return g_strdup_printf("\"%" G_GINT64_FORMAT "\"", mo_test_now() + seconds_left);
}

static Fixture *
fixture_new(const gchar *name, guint status, const gchar *body)
{
	Fixture *fx = g_new0(Fixture, 1);

	fx->dir = g_build_filename(test_dir, name, NULL);
	mo_test_rm_rf(fx->dir);
	if (g_mkdir(fx->dir, 0755) != 0)
		fail_msg("cannot create %s: %s", fx->dir, g_strerror(errno));
	fx->path = g_build_filename(fx->dir, "token.json", NULL);
	fx->server = mo_test_server_new(status, NULL, body, strlen(body));
	return fx;
}

static void
fixture_write(Fixture *fx, const gchar *expiry, gboolean with_client)
{
	g_autofree gchar *text = token_file_text(fx, expiry, with_client);

	mo_test_write_file(fx->path, text);
	if (g_chmod(fx->path, 0600) != 0)
		fail_msg("cannot chmod %s: %s", fx->path, g_strerror(errno));
}

/* As postfix has them: owned by another user, group-readable. */
static void
fixture_give_away(Fixture *fx)
{
	if (geteuid() != 0)
		return;
	if (chown(fx->path, TEST_OTHER_UID, TEST_OTHER_GID) != 0)
		fail_msg("cannot chown %s: %s", fx->path, g_strerror(errno));
	if (g_chmod(fx->path, 0640) != 0)
		fail_msg("cannot chmod %s: %s", fx->path, g_strerror(errno));
}

static void
assert_given_away(const Fixture *fx)
{
	struct stat st;

	assert_int_equal(lstat(fx->path, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	if (geteuid() != 0)
		return;
	assert_int_equal(st.st_mode & 07777, 0640);
	assert_int_equal(st.st_uid, TEST_OTHER_UID);
	assert_int_equal(st.st_gid, TEST_OTHER_GID);
}

static MoRefreshOptions
options_new(void)
{
	MoRefreshOptions options = {
		.margin = MO_DEFAULT_REFRESH_MARGIN,
		.http = {.connect_timeout = 2, .timeout = 5},
	};
	return options;
}

static MoToken *
get_token(const gchar *path, gboolean *refreshed, GError **error)
{
	g_autoptr(MoTokenStore) store = mo_file_store_new(path, error);
	MoRefreshOptions options = options_new();

	if (store == NULL)
		return NULL;
	return mo_refresh_get_token(store, &options, refreshed, error);
}

static MoJson *
parse_file(const gchar *path)
{
	g_autofree gchar *text = read_text(path);
	g_autoptr(GError) error = NULL;
	MoJson *obj = mo_json_parse_object(text, -1, "rewritten token file", &error);

	mo_assert_no_error(error);
	return obj;
}

static const gchar *
get_string(const MoJson *obj, const gchar *member)
{
	const gchar *value = mo_json_get_string_value(mo_json_object_get(obj, member));

	if (value == NULL)
		fail_msg("no string member “%s”", member);
	return value;
}

/* Every key of the original file is still there, in its place, with its value. */
static void
assert_layout_kept(const gchar *path)
{
	g_autofree gchar *text = read_text(path);
	g_autoptr(MoJson) obj = parse_file(path);
	const gchar *last = text;

	for (guint i = 0; i < G_N_ELEMENTS(token_file_keys); i++) {
		g_autofree gchar *quoted = g_strdup_printf("\"%s\"", token_file_keys[i]);
		const gchar *at = strstr(text, quoted);

		if (at == NULL)
			fail_msg("“%s” is gone from %s", token_file_keys[i], text);
		if (at < last)
			fail_msg("“%s” moved in %s", token_file_keys[i], text);
		last = at;
	}
	assert_int_equal(mo_json_object_size(obj), G_N_ELEMENTS(token_file_keys));
	assert_string_equal(get_string(obj, "x-comment"), "written by hand");
	assert_string_equal(get_string(obj, "ca_bundle_file"),
			    "/etc/ssl/certs/ca-certificates.crt");
	assert_string_equal(mo_json_get_number_text(mo_json_object_get(obj, "refresh_window")),
			    "300");
	assert_int_equal(mo_json_get_type(mo_json_object_get(obj, "proxy")), MO_JSON_NULL);
	/* numbers keep their text, nested values survive */
	mo_assert_str_contains(text, "1.50");
	mo_assert_str_contains(text, "\"two\"");
	assert_int_equal(mo_json_get_type(mo_json_object_get(obj, "x-nested")), MO_JSON_OBJECT);
	assert_string_equal(get_string(obj, "user"), TEST_USER);
	assert_string_equal(get_string(obj, "client_id"), "file-client");
	assert_string_equal(get_string(obj, "client_secret"), "file s3cr+t");
}

static gint64
get_expiry(const gchar *path)
{
	g_autoptr(MoJson) obj = parse_file(path);
	MoJson *expiry = mo_json_object_get(obj, "expiry");
	gint64 value = 0;

	/* a decimal string, as sasl-xoauth2 writes and expects it */
	assert_non_null(expiry);
	assert_int_equal(mo_json_get_type(expiry), MO_JSON_STRING);
	assert_true(mo_json_get_int64(obj, "expiry", &value, "token file", NULL));
	return value;
}

static void
test_new_refuses_relative_path(void **state)
{
	const gchar *bad[] = {"token.json", "./token.json", "tokens/a", "~/token.json", ""};

	for (guint i = 0; i < G_N_ELEMENTS(bad); i++) {
		g_autoptr(GError) error = NULL;
		g_autoptr(MoTokenStore) store = mo_file_store_new(bad[i], &error);

		if (store != NULL)
			fail_msg("“%s” accepted", bad[i]);
		mo_assert_error(error, MO_ERROR, MO_ERROR_INVALID_ARGUMENT);
		mo_assert_str_contains(error->message, "absolute");
	}
}

/* The lock is beside the file, so every process that can rewrite it can also lock it. */
static void
test_lock_path_beside_file(void **state)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(MoTokenStore) store =
		mo_file_store_new("/etc/sasl-tokens/me@example.com", &error);

	mo_assert_no_error(error);
	assert_string_equal(store->lock_path, "/etc/sasl-tokens/.me@example.com.lock");
	assert_string_equal(store->account, "/etc/sasl-tokens/me@example.com");
	/* nothing is read before the first load */
	assert_null(mo_file_store_get_user(store));
}

static void
test_fresh_token_no_http(void **state)
{
	g_autoptr(Fixture) fx = fixture_new("fresh", 500, "{}");
	g_autofree gchar *expiry = expiry_in(3600);
	g_autofree gchar *before = NULL;
	g_autofree gchar *after = NULL;
	g_autofree gchar *names = NULL;
	g_autoptr(MoTokenStore) store = NULL;
	g_autoptr(MoToken) token = NULL;
	g_autoptr(GError) error = NULL;
	MoRefreshOptions options = options_new();
	gboolean refreshed = TRUE;

	fixture_write(fx, expiry, TRUE);
	before = read_text(fx->path);
	store = mo_file_store_new(fx->path, &error);
	mo_assert_no_error(error);
	token = mo_refresh_get_token(store, &options, &refreshed, &error);
	mo_assert_no_error(error);
	assert_non_null(token);
	assert_string_equal(token->access_token, "old-a");
	assert_false(refreshed);
	assert_string_equal(mo_file_store_get_user(store), TEST_USER);
	assert_int_equal(mo_test_server_get_n_connections(fx->server), 0);
	after = read_text(fx->path);
	assert_string_equal(after, before);
	/* the fast path takes no lock */
	names = mo_test_list_dir(fx->dir);
	assert_string_equal(names, "token.json");
}

static void
assert_refreshed(Fixture *fx, const gchar *expected_refresh_token)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(MoToken) token = NULL;
	g_autoptr(MoJson) obj = NULL;
	g_autoptr(GHashTable) form = NULL;
	g_autofree gchar *request = NULL;
	g_autofree gchar *names = NULL;
	gboolean refreshed = FALSE;
	gint64 before = mo_test_now();
	struct stat st_before;
	struct stat st_after;

	assert_int_equal(lstat(fx->path, &st_before), 0);
	token = get_token(fx->path, &refreshed, &error);
	mo_assert_no_error(error);
	assert_non_null(token);
	assert_true(refreshed);
	assert_string_equal(token->access_token, "new-a");
	assert_string_equal(token->refresh_token, expected_refresh_token);

	/* one POST with what the file says */
	assert_int_equal(mo_test_server_get_n_requests(fx->server), 1);
	request = mo_test_server_dup_request(fx->server, 0);
	assert_true(g_str_has_prefix(request, "POST /token "));
	form = mo_test_server_dup_form(fx->server, 0);
	assert_string_equal(g_hash_table_lookup(form, "grant_type"), "refresh_token");
	assert_string_equal(g_hash_table_lookup(form, "refresh_token"), "old-r");
	assert_string_equal(g_hash_table_lookup(form, "client_id"), "file-client");
	assert_string_equal(g_hash_table_lookup(form, "client_secret"), "file s3cr+t");

	/* written back */
	obj = parse_file(fx->path);
	assert_string_equal(get_string(obj, "access_token"), "new-a");
	assert_string_equal(get_string(obj, "refresh_token"), expected_refresh_token);
	assert_in_range(get_expiry(fx->path), before + 3600, mo_test_now() + 3600);
	assert_layout_kept(fx->path);
	/* a new file (the old one was replaced, not rewritten), with the old one's mode and owner
	 */
	assert_int_equal(lstat(fx->path, &st_after), 0);
	assert_true(st_after.st_ino != st_before.st_ino);
	assert_int_equal(st_after.st_mode, st_before.st_mode);
	assert_int_equal(st_after.st_uid, st_before.st_uid);
	assert_int_equal(st_after.st_gid, st_before.st_gid);
	/* the lock file beside it, and no temporary file */
	names = mo_test_list_dir(fx->dir);
	assert_string_equal(names, ".token.json.lock token.json");
}

static void
test_expired_refreshes_and_rewrites(void **state)
{
	g_autoptr(Fixture) fx = fixture_new("expired",
					    200,
					    "{\"access_token\":\"new-a\",\"refresh_token\":"
					    "\"rotated-r\",\"expires_in\":3600,"
					    "\"token_type\":\"Bearer\"}");
	g_autofree gchar *expiry = expiry_in(-100);
	g_autoptr(MoToken) again = NULL;
	g_autoptr(GError) error = NULL;
	gboolean refreshed = TRUE;

	fixture_write(fx, expiry, TRUE);
	fixture_give_away(fx);
	assert_refreshed(fx, "rotated-r");
	assert_given_away(fx);

	/* the rewritten file reads back as fresh: no second request */
	again = get_token(fx->path, &refreshed, &error);
	mo_assert_no_error(error);
	assert_string_equal(again->access_token, "new-a");
	assert_false(refreshed);
	assert_int_equal(mo_test_server_get_n_requests(fx->server), 1);
}

/* Within the margin (the file's refresh_window, 300 s) counts as expired. */
static void
test_about_to_expire_refreshes(void **state)
{
	g_autoptr(Fixture) fx = fixture_new("about-to-expire",
					    200,
					    "{\"access_token\":\"new-a\",\"refresh_token\":"
					    "\"rotated-r\",\"expires_in\":3600}");
	g_autofree gchar *expiry = expiry_in(300 - 60);

	fixture_write(fx, expiry, TRUE);
	assert_refreshed(fx, "rotated-r");
}

/* sasl-xoauth2 writes a string, but a number is read too; ours is written as a string. */
static void
test_numeric_expiry_rewritten_as_string(void **state)
{
	g_autoptr(Fixture) fx = fixture_new("numeric-expiry",
					    200,
					    "{\"access_token\":\"new-a\",\"refresh_token\":"
					    "\"rotated-r\",\"expires_in\":3600}");

	fixture_write(fx, "1700000000", TRUE);
	assert_refreshed(fx, "rotated-r");
}

static void
test_response_without_refresh_token(void **state)
{
	g_autoptr(Fixture) fx =
		fixture_new("keeps-refresh-token",
			    200,
			    "{\"access_token\":\"new-a\",\"expires_in\":3600,\"scope\":\"mail\"}");
	g_autofree gchar *expiry = expiry_in(-100);

	fixture_write(fx, expiry, TRUE);
	fixture_give_away(fx);
	assert_refreshed(fx, "old-r");
	assert_given_away(fx);
}

static void
test_invalid_grant_leaves_file(void **state)
{
	g_autoptr(Fixture) fx =
		fixture_new("invalid-grant",
			    400,
			    "{\"error\":\"invalid_grant\",\"error_description\":\"Token has been "
			    "expired or revoked.\"}");
	g_autofree gchar *expiry = expiry_in(-100);
	g_autofree gchar *before = NULL;
	g_autofree gchar *after = NULL;
	g_autofree gchar *names = NULL;
	g_autoptr(MoToken) token = NULL;
	g_autoptr(GError) error = NULL;
	gboolean refreshed = TRUE;

	fixture_write(fx, expiry, TRUE);
	fixture_give_away(fx);
	before = read_text(fx->path);
	token = get_token(fx->path, &refreshed, &error);
	assert_null(token);
	assert_false(refreshed);
	mo_assert_error(error, MO_OAUTH_ERROR, MO_OAUTH_ERROR_INVALID_GRANT);
	mo_assert_str_contains(error->message, fx->path);
	mo_assert_str_contains(error->message, "expired or revoked");
	mo_assert_str_lacks(error->message, "old-r");
	mo_assert_str_lacks(error->message, "s3cr+t");
	assert_int_equal(mo_test_server_get_n_requests(fx->server), 1);
	after = read_text(fx->path);
	assert_string_equal(after, before);
	assert_given_away(fx);
	names = mo_test_list_dir(fx->dir);
	assert_string_equal(names, ".token.json.lock token.json");
}

static void
test_no_client_id(void **state)
{
	g_autoptr(Fixture) fx = fixture_new("no-client-id", 500, "{}");
	g_autofree gchar *expiry = expiry_in(-100);
	g_autofree gchar *before = NULL;
	g_autofree gchar *after = NULL;
	g_autoptr(MoToken) token = NULL;
	g_autoptr(GError) error = NULL;

	fixture_write(fx, expiry, FALSE);
	before = read_text(fx->path);
	token = get_token(fx->path, NULL, &error);
	assert_null(token);
	mo_assert_error(error, MO_ERROR, MO_ERROR_INVALID_DATA);
	mo_assert_str_contains(error->message, fx->path);
	mo_assert_str_contains(error->message, "client_id");
	assert_int_equal(mo_test_server_get_n_connections(fx->server), 0);
	after = read_text(fx->path);
	assert_string_equal(after, before);
}

/* As sasl-xoauth2 does: a file with only the tokens takes its client from the configuration
 * file (/etc/sasl-xoauth2.conf, here MAILOAUTH_SASL_XOAUTH2_CONF). */
static void
test_client_from_sasl_xoauth2_conf(void **state)
{
	g_autoptr(Fixture) fx = fixture_new("from-conf",
					    200,
					    "{\"access_token\":\"new-a\",\"refresh_token\":"
					    "\"rotated-r\",\"expires_in\":3600}");
	g_autofree gchar *expiry = expiry_in(-100);
	g_autofree gchar *conf = g_build_filename(fx->dir, "sasl-xoauth2.conf", NULL);
	g_autoptr(GHashTable) form = NULL;
	g_autoptr(MoToken) token = NULL;
	g_autoptr(GError) error = NULL;

	fixture_write(fx, expiry, FALSE);
	mo_test_write_file(conf,
			   "{\"client_id\":\"conf-client\",\"client_secret\":\"conf s3cret\","
			   "\"token_endpoint\":\"https://unused.example.com/token\"}");
	g_setenv("MAILOAUTH_SASL_XOAUTH2_CONF", conf, TRUE);
	token = get_token(fx->path, NULL, &error);
	g_setenv("MAILOAUTH_SASL_XOAUTH2_CONF", "/nonexistent/sasl-xoauth2.conf", TRUE);
	mo_assert_no_error(error);
	assert_string_equal(token->access_token, "new-a");
	/* the file's own token_endpoint wins over the configuration's */
	assert_int_equal(mo_test_server_get_n_requests(fx->server), 1);
	form = mo_test_server_dup_form(fx->server, 0);
	assert_string_equal(g_hash_table_lookup(form, "client_id"), "conf-client");
	assert_string_equal(g_hash_table_lookup(form, "client_secret"), "conf s3cret");
}

/* sasl-xoauth2's proxy key (here from its configuration, the file's own being null) routes the
 * refresh: through a proxy that refuses connections it fails for now, and the token endpoint
 * sees nothing. */
static void
test_proxy_from_sasl_xoauth2_conf(void **state)
{
	g_autoptr(Fixture) fx =
		fixture_new("proxy", 200, "{\"access_token\":\"new-a\",\"expires_in\":3600}");
	g_autofree gchar *expiry = expiry_in(-100);
	g_autofree gchar *conf = g_build_filename(fx->dir, "sasl-xoauth2.conf", NULL);
	g_autofree gchar *text = NULL;
	g_autoptr(MoToken) token = NULL;
	g_autoptr(GError) error = NULL;
	guint16 port = 0;
	gint fd = mo_test_refusing_socket_new(&port);

	fixture_write(fx, expiry, TRUE);
	text = g_strdup_printf("{\"proxy\":\"http://127.0.0.1:%u\"}", port);
	mo_test_write_file(conf, text);
	g_setenv("MAILOAUTH_SASL_XOAUTH2_CONF", conf, TRUE);
	/* the tests keep libcurl away from proxies for 127.0.0.1 (mo-test.c); not here */
	g_unsetenv("no_proxy");
	g_unsetenv("NO_PROXY");
	token = get_token(fx->path, NULL, &error);
	g_setenv("no_proxy", "127.0.0.1,localhost,::1", TRUE);
	g_setenv("NO_PROXY", "127.0.0.1,localhost,::1", TRUE);
	g_setenv("MAILOAUTH_SASL_XOAUTH2_CONF", "/nonexistent/sasl-xoauth2.conf", TRUE);
	close(fd);
	assert_null(token);
	mo_assert_error(error, MO_ERROR, MO_ERROR_TRANSIENT);
	assert_int_equal(mo_test_server_get_n_connections(fx->server), 0);
}

/* Without client_id a fresh token is still handed out: only a refresh needs the client. */
static void
test_no_client_id_fresh(void **state)
{
	g_autoptr(Fixture) fx = fixture_new("no-client-id-fresh", 500, "{}");
	g_autofree gchar *expiry = expiry_in(3600);
	g_autoptr(MoToken) token = NULL;
	g_autoptr(GError) error = NULL;

	fixture_write(fx, expiry, FALSE);
	token = get_token(fx->path, NULL, &error);
	mo_assert_no_error(error);
	assert_string_equal(token->access_token, "old-a");
}

static void
assert_load_fails(const gchar *path, const gchar *why)
{
	g_autoptr(MoToken) token = NULL;
	g_autoptr(GError) error = NULL;

	token = get_token(path, NULL, &error);
	assert_null(token);
	mo_assert_error(error, MO_ERROR, MO_ERROR_INVALID_DATA);
	mo_assert_str_contains(error->message, path);
	if (why != NULL)
		mo_assert_str_contains(error->message, why);
}

static void
test_unusable_files(void **state)
{
	g_autoptr(Fixture) fx = fixture_new("unusable", 500, "{}");
	g_autofree gchar *missing = g_build_filename(fx->dir, "missing", NULL);
	g_autofree gchar *link = g_build_filename(fx->dir, "link", NULL);
	g_autofree gchar *no_refresh = g_build_filename(fx->dir, "no-refresh", NULL);
	g_autofree gchar *not_json = g_build_filename(fx->dir, "not-json", NULL);
	g_autofree gchar *expiry = expiry_in(3600);

	fixture_write(fx, expiry, TRUE);
	assert_load_fails(missing, g_strerror(ENOENT));
	assert_int_equal(symlink(fx->path, link), 0);
	assert_load_fails(link, "symbolic link");
	mo_test_write_file(no_refresh, "{\"access_token\":\"a\",\"expiry\":\"9999999999\"}");
	assert_load_fails(no_refresh, "refresh_token");
	mo_test_write_file(not_json, "access_token=a\n");
	assert_load_fails(not_json, "JSON");
	assert_int_equal(mo_test_server_get_n_connections(fx->server), 0);
}

/* A token_endpoint in the file is held to the same rule as any other: https, or http on
 * loopback only; the refresh token is not sent in clear to another host. */
static void
test_plain_http_endpoint_refused(void **state)
{
	g_autoptr(Fixture) fx = fixture_new("plain-http", 500, "{}");
	g_autofree gchar *text = NULL;
	g_autofree gchar *after = NULL;
	g_autoptr(MoToken) token = NULL;
	g_autoptr(GError) error = NULL;

	text = g_strdup_printf("{\"refresh_token\":\"old-r\",\"expiry\":\"1\","
			       "\"client_id\":\"file-client\","
			       "\"token_endpoint\":\"http://mail.example.com/token\"}");
	mo_test_write_file(fx->path, text);
	token = get_token(fx->path, NULL, &error);
	assert_null(token);
	mo_assert_error(error, MO_ERROR, MO_ERROR_INVALID_ARGUMENT);
	mo_assert_str_contains(error->message, "http://mail.example.com/token");
	after = read_text(fx->path);
	assert_string_equal(after, text);
}

/* --- regressions: defects found by these tests, fixed since --- */

/* "beside the file, so that every process that can rewrite it can also lock it": once root
 * has refreshed a token file that belongs to postfix (here nobody), the lock file is root's,
 * mode 0600, and the file's own user can no longer refresh it ("Cannot open the lock file
 * …: Permission denied"). The second refresh runs in a child as that user. */
static void
test_lock_usable_by_file_owner(void **state)
{
	const gchar *body = "{\"access_token\":\"new-a\",\"refresh_token\":\"rotated-r\","
			    "\"expires_in\":3600}";
	g_autoptr(Fixture) fx = fixture_new("lock-owner", 200, body);
	g_autofree gchar *expired = expiry_in(-100);
	g_autoptr(MoToken) token = NULL;
	g_autoptr(GError) error = NULL;
	gint status = 0;
	pid_t pid;

	if (geteuid() != 0)
		skip();
	/* the user must reach its directory, as postfix reaches its own */
	assert_int_equal(g_chmod(test_dir, 0711), 0);
	assert_int_equal(chown(fx->dir, TEST_OTHER_UID, TEST_OTHER_GID), 0);
	fixture_write(fx, expired, TRUE);
	fixture_give_away(fx);
	token = get_token(fx->path, NULL, &error);
	mo_assert_no_error(error);

	/* stale again, still nobody's */
	fixture_write(fx, expired, TRUE);
	fixture_give_away(fx);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		g_autoptr(GError) child_error = NULL;
		g_autoptr(MoToken) child_token = NULL;

		if (setgid(TEST_OTHER_GID) != 0 || setuid(TEST_OTHER_UID) != 0)
			_exit(2);
		child_token = get_token(fx->path, NULL, &child_error);
		if (child_token == NULL)
			g_printerr("as uid %d: %s\n", TEST_OTHER_UID, child_error->message);
		_exit(child_token != NULL ? 0 : 1);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

/* --- issue 9: who can lock a token file, and where a token file may be --- */

/* Tests that make files for other users and become one: root only (as in CI). */
static void
skip_unless_root(void)
{
	if (geteuid() == 0)
		return;
	g_printerr("# skipped: needs root, to give files to other users and to become one\n");
	skip();
}

/* The mail system's user, which refreshes token files as root does: postfix where it exists
 * (as in CI), else nobody. */
static void
mail_user(uid_t *uid, gid_t *gid)
{
	struct passwd *pw = getpwnam("postfix");

	*uid = pw != NULL ? pw->pw_uid : TEST_OTHER_UID;
	*gid = pw != NULL ? pw->pw_gid : TEST_OTHER_GID;
}

/* In the child, its own function so that what it allocated is freed before _exit(). */
static gboolean
child_get_token(const gchar *path, uid_t uid)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(MoToken) token = get_token(path, NULL, &error);

	if (token == NULL)
		g_printerr("# as uid %u: %s\n", (guint)uid, error->message);
	return token != NULL;
}

/* get_token() in a child that has become @uid:@gid with no other group, as
 * setpriv --reuid --regid --clear-groups makes it; TRUE when it got a token. */
static gboolean
get_token_as(const gchar *path, uid_t uid, gid_t gid)
{
	gint status = 0;
	pid_t pid;

	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		if (setgroups(1, &gid) != 0 || setgid(gid) != 0 || setuid(uid) != 0)
			_exit(2);
		_exit(child_get_token(path, uid) ? 0 : 1);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

/* The token file, expired, as @uid:@gid with @mode. */
static void
fixture_write_owned(Fixture *fx, uid_t uid, gid_t gid, mode_t mode)
{
	g_autofree gchar *expired = expiry_in(-100);

	fixture_write(fx, expired, TRUE);
	if (chown(fx->path, uid, gid) != 0 || g_chmod(fx->path, mode) != 0)
		fail_msg("cannot give %s away: %s", fx->path, g_strerror(errno));
}

static void
fixture_set_dir(Fixture *fx, uid_t uid, gid_t gid, mode_t mode)
{
	/* the mail user must reach its directory, as postfix reaches its own */
	if (g_chmod(test_dir, 0711) != 0 || chown(fx->dir, uid, gid) != 0 ||
	    g_chmod(fx->dir, mode) != 0)
		fail_msg("cannot set up %s: %s", fx->dir, g_strerror(errno));
}

static void
assert_lock_is(const Fixture *fx, uid_t uid, gid_t gid, mode_t mode)
{
	g_autofree gchar *lock = g_build_filename(fx->dir, ".token.json.lock", NULL);
	struct stat st;

	assert_int_equal(lstat(lock, &st), 0);
	if (st.st_uid != uid || st.st_gid != gid || (st.st_mode & 07777) != mode)
		fail_msg("the lock is %u:%u %04o, expected %u:%u %04o",
			 (guint)st.st_uid,
			 (guint)st.st_gid,
			 (guint)(st.st_mode & 07777),
			 (guint)uid,
			 (guint)gid,
			 (guint)mode);
}

static void
assert_root_refreshes(const Fixture *fx)
{
	g_autoptr(MoToken) token = NULL;
	g_autoptr(GError) error = NULL;
	gboolean refreshed = FALSE;

	token = get_token(fx->path, &refreshed, &error);
	mo_assert_no_error(error);
	assert_true(refreshed);
}

#define TEST_REFRESHED_BODY                                                                        \
	"{\"access_token\":\"new-a\",\"refresh_token\":\"rotated-r\",\"expires_in\":3600}"

/* Item 3: a root:postfix 0660 token file in a 2775 root:postfix directory, refreshed by root
 * (the timer, `mailoauth refresh --file`), then by postfix (the plugin in smtp). Root's lock
 * used to be 0600 root:postfix, and postfix got "Permission denied" for ever after. */
static void
test_shared_file_root_then_mail_user(void **state)
{
	g_autoptr(Fixture) fx = fixture_new("shared-root-first", 200, TEST_REFRESHED_BODY);
	uid_t uid;
	gid_t gid;

	skip_unless_root();
	mail_user(&uid, &gid);
	fixture_set_dir(fx, 0, gid, 02775);
	fixture_write_owned(fx, 0, gid, 0660);
	assert_root_refreshes(fx);
	assert_lock_is(fx, 0, gid, 0660);

	fixture_write_owned(fx, 0, gid, 0660);
	assert_true(get_token_as(fx->path, uid, gid));
	assert_lock_is(fx, 0, gid, 0660);
	assert_int_equal(mo_test_server_get_n_requests(fx->server), 2);
}

/* Item 3, the other way round: postfix makes the lock, for root and for the whole group
 * (it used to be 0600, postfix's alone); root then uses it as it is, and postfix still can. */
static void
test_shared_file_mail_user_then_root(void **state)
{
	g_autoptr(Fixture) fx = fixture_new("shared-user-first", 200, TEST_REFRESHED_BODY);
	uid_t uid;
	gid_t gid;

	skip_unless_root();
	mail_user(&uid, &gid);
	fixture_set_dir(fx, 0, gid, 02775);
	fixture_write_owned(fx, 0, gid, 0660);
	assert_true(get_token_as(fx->path, uid, gid));
	assert_lock_is(fx, uid, gid, 0660);

	fixture_write_owned(fx, 0, gid, 0660);
	assert_root_refreshes(fx);
	fixture_write_owned(fx, 0, gid, 0660);
	assert_true(get_token_as(fx->path, uid, gid));
	assert_lock_is(fx, uid, gid, 0660);
	assert_int_equal(mo_test_server_get_n_requests(fx->server), 3);
}

/* What `mailoauth export` writes: postfix:postfix 0600 in postfix's 0700 directory. Its lock
 * is postfix's, 0600, whether root or postfix refreshes first. */
static void
test_export_file_root_and_mail_user(void **state)
{
	g_autoptr(Fixture) fx = fixture_new("export-layout", 200, TEST_REFRESHED_BODY);
	g_autofree gchar *lock = NULL;
	uid_t uid;
	gid_t gid;

	skip_unless_root();
	mail_user(&uid, &gid);
	fixture_set_dir(fx, uid, gid, 0700);
	fixture_write_owned(fx, uid, gid, 0600);
	assert_root_refreshes(fx);
	assert_lock_is(fx, uid, gid, 0600);
	fixture_write_owned(fx, uid, gid, 0600);
	assert_true(get_token_as(fx->path, uid, gid));

	lock = g_build_filename(fx->dir, ".token.json.lock", NULL);
	assert_int_equal(g_unlink(lock), 0);
	fixture_write_owned(fx, uid, gid, 0600);
	assert_true(get_token_as(fx->path, uid, gid));
	assert_lock_is(fx, uid, gid, 0600);
	fixture_write_owned(fx, uid, gid, 0600);
	assert_root_refreshes(fx);
	assert_int_equal(mo_test_server_get_n_requests(fx->server), 4);
}

/* Item 7: in a directory others can write (/tmp), any user can put a lock file of their own
 * beside a token file and fail every refresh (0644) or stall every login (0666 and flock
 * held). Refused up front, as OpenSSH refuses a key others can write, saying what to do;
 * a directory only its group can write is fine. */
static void
test_world_writable_dir_refused(void **state)
{
	g_autoptr(Fixture) fx = fixture_new("world-writable", 500, "{}");
	g_autofree gchar *fresh = expiry_in(3600);
	const mode_t modes[] = {0777, 01777, 0757};
	g_autoptr(MoToken) token = NULL;
	g_autoptr(GError) error = NULL;
	g_autofree gchar *names = NULL;

	fixture_write(fx, fresh, TRUE);
	for (guint i = 0; i < G_N_ELEMENTS(modes); i++) {
		g_autoptr(GError) error_new = NULL;
		g_autoptr(MoTokenStore) store = NULL;

		assert_int_equal(g_chmod(fx->dir, modes[i]), 0);
		store = mo_file_store_new(fx->path, &error_new);
		if (store != NULL)
			fail_msg("a token file in a directory of mode %04o was used", modes[i]);
		mo_assert_error(error_new, MO_ERROR, MO_ERROR_INVALID_DATA);
		mo_assert_str_contains(error_new->message, fx->path);
		mo_assert_str_contains(error_new->message, "chmod o-w");
	}
	assert_int_equal(g_chmod(fx->dir, 02775), 0);
	token = get_token(fx->path, NULL, &error);
	mo_assert_no_error(error);
	assert_string_equal(token->access_token, "old-a");
	names = mo_test_list_dir(fx->dir);
	assert_string_equal(names, "token.json");
	assert_int_equal(mo_test_server_get_n_connections(fx->server), 0);
}

/* Writes @text as the fixture's token file, 0600. */
static void
fixture_write_text(Fixture *fx, const gchar *text)
{
	mo_test_write_file(fx->path, text);
	if (g_chmod(fx->path, 0600) != 0)
		fail_msg("cannot chmod %s: %s", fx->path, g_strerror(errno));
}

static gchar *
replace_text(const gchar *text, const gchar *old, const gchar *new)
{
	g_auto(GStrv) parts = g_strsplit(text, old, 2);

	if (g_strv_length(parts) != 2)
		fail_msg("“%s” is not in the text", old);
	return g_strjoin(new, parts[0], parts[1], NULL);
}

/* sasl-xoauth2's refresh_window is this file's refresh margin: 300 in the fixture keeps a
 * token with 400 s left; 500 refreshes it. */
static void
test_refresh_window_is_the_margin(void **state)
{
	g_autoptr(Fixture) fx =
		fixture_new("window", 200, "{\"access_token\":\"new-a\",\"expires_in\":3600}");
	g_autofree gchar *expiry = expiry_in(400);
	g_autofree gchar *text = token_file_text(fx, expiry, TRUE);
	g_autofree gchar *wider =
		replace_text(text, "\"refresh_window\": 300", "\"refresh_window\": 500");
	g_autoptr(MoToken) token = NULL;
	g_autoptr(GError) error = NULL;
	gboolean refreshed = TRUE;

	fixture_write_text(fx, text);
	token = get_token(fx->path, &refreshed, &error);
	mo_assert_no_error(error);
	assert_false(refreshed);
	assert_int_equal(mo_test_server_get_n_requests(fx->server), 0);
	fixture_write_text(fx, wider);
	g_clear_pointer(&token, mo_token_free);
	token = get_token(fx->path, &refreshed, &error);
	mo_assert_no_error(error);
	assert_true(refreshed);
	assert_string_equal(token->access_token, "new-a");
}

/* The configuration fills each field the file lacks: here only the secret. */
static void
test_conf_fills_each_missing_field(void **state)
{
	g_autoptr(Fixture) fx =
		fixture_new("conf-secret", 200, "{\"access_token\":\"new-a\",\"expires_in\":3600}");
	g_autofree gchar *expiry = expiry_in(-100);
	g_autofree gchar *text = token_file_text(fx, expiry, TRUE);
	g_autofree gchar *no_secret =
		replace_text(text, "  \"client_secret\": \"file s3cr+t\",\n", "");
	g_autofree gchar *conf = g_build_filename(fx->dir, "sasl-xoauth2.conf", NULL);
	g_autoptr(GHashTable) form = NULL;
	g_autoptr(MoToken) token = NULL;
	g_autoptr(GError) error = NULL;

	fixture_write_text(fx, no_secret);
	mo_test_write_file(conf,
			   "{\"client_id\":\"conf-client\",\"client_secret\":\"conf s3cret\"}");
	g_setenv("MAILOAUTH_SASL_XOAUTH2_CONF", conf, TRUE);
	token = get_token(fx->path, NULL, &error);
	g_setenv("MAILOAUTH_SASL_XOAUTH2_CONF", "/nonexistent/sasl-xoauth2.conf", TRUE);
	mo_assert_no_error(error);
	form = mo_test_server_dup_form(fx->server, 0);
	assert_string_equal(g_hash_table_lookup(form, "client_id"), "file-client");
	assert_string_equal(g_hash_table_lookup(form, "client_secret"), "conf s3cret");
}

/* JSON as sasl-xoauth2's parser takes it, in the token file and in the configuration: a
 * BOM, line and block comments, trailing commas. */
static void
test_lenient_json_as_sasl_xoauth2(void **state)
{
	g_autoptr(Fixture) fx =
		fixture_new("lenient", 200, "{\"access_token\":\"new-a\",\"expires_in\":3600}");
	g_autofree gchar *expiry = expiry_in(-100);
	g_autofree gchar *text = token_file_text(fx, expiry, FALSE);
	g_autofree gchar *commented = replace_text(text, "{\n", "\xef\xbb\xbf{ // my token\n");
	g_autofree gchar *trailing = replace_text(commented, "\"two\", true]", "\"two\", true, ]");
	g_autofree gchar *conf = g_build_filename(fx->dir, "sasl-xoauth2.conf", NULL);
	g_autoptr(GHashTable) form = NULL;
	g_autoptr(MoToken) token = NULL;
	g_autoptr(GError) error = NULL;

	fixture_write_text(fx, trailing);
	mo_test_write_file(conf,
			   "\xef\xbb\xbf/* the app */ {\n"
			   "  \"client_id\": \"conf-client\", // from the portal\n"
			   "  \"client_secret\": \"a//b /* not a comment */\",\n"
			   "}\n");
	g_setenv("MAILOAUTH_SASL_XOAUTH2_CONF", conf, TRUE);
	token = get_token(fx->path, NULL, &error);
	g_setenv("MAILOAUTH_SASL_XOAUTH2_CONF", "/nonexistent/sasl-xoauth2.conf", TRUE);
	mo_assert_no_error(error);
	assert_string_equal(token->access_token, "new-a");
	form = mo_test_server_dup_form(fx->server, 0);
	assert_string_equal(g_hash_table_lookup(form, "client_id"), "conf-client");
	/* comment marks inside a string are the string's */
	assert_string_equal(g_hash_table_lookup(form, "client_secret"), "a//b /* not a comment */");
}

/* A configuration that cannot be parsed is an error in the configuration, not a client
 * that is missing. */
static void
test_broken_conf_reported(void **state)
{
	g_autoptr(Fixture) fx = fixture_new("broken-conf", 200, "{}");
	g_autofree gchar *expiry = expiry_in(-100);
	g_autofree gchar *conf = g_build_filename(fx->dir, "sasl-xoauth2.conf", NULL);
	g_autoptr(MoToken) token = NULL;
	g_autoptr(GError) error = NULL;

	fixture_write(fx, expiry, FALSE);
	mo_test_write_file(conf, "{\"client_id\": \"x\" \"client_secret\": \"y\"}");
	g_setenv("MAILOAUTH_SASL_XOAUTH2_CONF", conf, TRUE);
	token = get_token(fx->path, NULL, &error);
	g_setenv("MAILOAUTH_SASL_XOAUTH2_CONF", "/nonexistent/sasl-xoauth2.conf", TRUE);
	assert_null(token);
	mo_assert_error(error, MO_ERROR, MO_ERROR_INVALID_DATA);
	mo_assert_str_contains(error->message, conf);
	mo_assert_str_lacks(error->message, "names a client_id");
	assert_int_equal(mo_test_server_get_n_requests(fx->server), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_new_refuses_relative_path),
		cmocka_unit_test(test_lock_path_beside_file),
		cmocka_unit_test(test_fresh_token_no_http),
		cmocka_unit_test(test_expired_refreshes_and_rewrites),
		cmocka_unit_test(test_about_to_expire_refreshes),
		cmocka_unit_test(test_numeric_expiry_rewritten_as_string),
		cmocka_unit_test(test_response_without_refresh_token),
		cmocka_unit_test(test_invalid_grant_leaves_file),
		cmocka_unit_test(test_no_client_id),
		cmocka_unit_test(test_client_from_sasl_xoauth2_conf),
		cmocka_unit_test(test_proxy_from_sasl_xoauth2_conf),
		cmocka_unit_test(test_refresh_window_is_the_margin),
		cmocka_unit_test(test_conf_fills_each_missing_field),
		cmocka_unit_test(test_lenient_json_as_sasl_xoauth2),
		cmocka_unit_test(test_broken_conf_reported),
		cmocka_unit_test(test_no_client_id_fresh),
		cmocka_unit_test(test_unusable_files),
		cmocka_unit_test(test_plain_http_endpoint_refused),
		cmocka_unit_test(test_lock_usable_by_file_owner),
		cmocka_unit_test(test_shared_file_root_then_mail_user),
		cmocka_unit_test(test_shared_file_mail_user_then_root),
		cmocka_unit_test(test_export_file_root_and_mail_user),
		cmocka_unit_test(test_world_writable_dir_refused),
	};
	gint rc;

	mo_test_init();
	/* hermetic: never the machine's own /etc/sasl-xoauth2.conf */
	g_setenv("MAILOAUTH_SASL_XOAUTH2_CONF", "/nonexistent/sasl-xoauth2.conf", TRUE);
	test_dir = mo_test_make_tmpdir();
	cmocka_set_message_output(CM_OUTPUT_TAP);
	rc = cmocka_run_group_tests_name("unit/file-store", tests, NULL, NULL);
	mo_test_rm_rf(test_dir);
	g_free(test_dir);
	return rc;
}
