/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mo-error.h"
#include "mo-journal.h"
#include "mo-refresh.h"
#include "mo-test-server.h"
#include "mo-test.h"

#define TEST_ACCOUNT "me@example.com"

static gchar *test_dir;

/* An in-memory MoTokenStore: load() hands out the tokens of @loads in turn (the last one
 * again when they run out), so a test can play "another process refreshed meanwhile". */
typedef struct {
	MoTokenStore store; /* first: the callbacks get a pointer to it */
	GPtrArray *loads;   /* of MoToken* */
	gchar *token_endpoint;
	gchar *lock_path;
	MoToken *saved;
	guint n_load;
	guint n_load_app;
	guint n_save;
	gboolean fail_load;
	gboolean fail_load_app;
	gboolean fail_save;
	gboolean lock_held_in_load_app;
	gboolean lock_held_in_save;
} FakeStore;

/* Whether some open file description holds the flock on @path; flock locks conflict between
 * two open()s even in one process, so the test can ask without forking. */
static gboolean
lock_is_held(const gchar *path)
{
	gint fd = open(path, O_RDWR | O_CLOEXEC);
	gboolean held;

	if (fd < 0)
		return FALSE;
	held = flock(fd, LOCK_EX | LOCK_NB) != 0 && errno == EWOULDBLOCK;
	close(fd);
	return held;
}

static MoToken *
fake_load(MoTokenStore *store, GError **error)
{
	FakeStore *self = (FakeStore *)store;
	guint index = MIN(self->n_load, self->loads->len - 1);

	self->n_load++;
	if (self->fail_load) {
		g_set_error(error, MO_ERROR, MO_ERROR_KEYRING_LOCKED, "the keyring is locked");
		return NULL;
	}
	return mo_token_copy(g_ptr_array_index(self->loads, index));
}

static MoApp *
fake_load_app(MoTokenStore *store, GError **error)
{
	FakeStore *self = (FakeStore *)store;
	MoApp *app;

	self->n_load_app++;
	self->lock_held_in_load_app = lock_is_held(self->lock_path);
	if (self->fail_load_app) {
		g_set_error(error, MO_ERROR, MO_ERROR_NOT_FOUND, "no app test-app");
		return NULL;
	}
	app = mo_app_new("test-app", MO_PROVIDER_CUSTOM);
	app->client_id = g_strdup("test-client");
	app->token_endpoint = g_strdup(self->token_endpoint);
	return app;
}

static gboolean
fake_save(MoTokenStore *store, const MoToken *token, GError **error)
{
	FakeStore *self = (FakeStore *)store;

	self->n_save++;
	self->lock_held_in_save = lock_is_held(self->lock_path);
	if (self->fail_save) {
		g_set_error(error, MO_ERROR, MO_ERROR_KEYRING_UNAVAILABLE, "no Secret Service");
		return FALSE;
	}
	g_clear_pointer(&self->saved, mo_token_free);
	self->saved = mo_token_copy(token);
	return TRUE;
}

static FakeStore *
fake_store_new(const gchar *token_endpoint)
{
	/* a counter, not the address: a later store may get the address of a freed one, and
	 * find its lock file already there */
	static guint n_stores = 0;
	FakeStore *self = g_new0(FakeStore, 1);
	g_autofree gchar *name = g_strdup_printf("locks/store-%u.lock", n_stores++);

	self->loads = g_ptr_array_new_with_free_func((GDestroyNotify)mo_token_free);
	self->token_endpoint = g_strdup(token_endpoint);
	self->lock_path = g_build_filename(test_dir, name, NULL);
	self->store.account = TEST_ACCOUNT;
	self->store.lock_path = self->lock_path;
	self->store.load = fake_load;
	self->store.load_app = fake_load_app;
	self->store.save = fake_save;
	return self;
}

static void
fake_store_free(FakeStore *self)
{
	g_ptr_array_unref(self->loads);
	g_free(self->token_endpoint);
	g_free(self->lock_path);
	mo_token_free(self->saved);
	g_free(self);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC(FakeStore, fake_store_free)

/* Adds a token with @seconds_left of validity (0: expiry unknown) to what load() returns. */
static MoToken *
fake_store_add(FakeStore *self, const gchar *access, const gchar *refresh, gint64 seconds_left)
{
	MoToken *token = mo_token_new();

	token->access_token = g_strdup(access);
	token->refresh_token = g_strdup(refresh);
	token->expiry = seconds_left != 0 ? mo_test_now() + seconds_left : 0;
	g_ptr_array_add(self->loads, token);
	return token;
}

static MoRefreshOptions
options_new(gboolean force)
{
	MoRefreshOptions options = {
		.margin = MO_DEFAULT_REFRESH_MARGIN,
		.force = force,
		.http = {.connect_timeout = 2, .timeout = 5},
	};
	return options;
}

static gchar *
refusing_url(gint *fd)
{
	guint16 port = 0;

	*fd = mo_test_refusing_socket_new(&port);
	return g_strdup_printf("http://127.0.0.1:%u/token", port);
}

static void
test_fresh_token_fast_path(void **state)
{
	g_autoptr(FakeStore) self = fake_store_new("http://127.0.0.1:9/token");
	MoRefreshOptions options = options_new(FALSE);
	g_autoptr(GError) error = NULL;
	g_autoptr(MoToken) token = NULL;
	gboolean refreshed = TRUE;

	fake_store_add(self, "fresh-a", "r", 3600);
	token = mo_refresh_get_token(&self->store, &options, &refreshed, &error);
	mo_assert_no_error(error);
	assert_non_null(token);
	assert_string_equal(token->access_token, "fresh-a");
	assert_false(refreshed);
	assert_int_equal(self->n_load, 1);
	assert_int_equal(self->n_load_app, 0);
	assert_int_equal(self->n_save, 0);
	/* the fast path takes no lock, so not even the lock file exists */
	assert_false(g_file_test(self->lock_path, G_FILE_TEST_EXISTS));
}

/* Just beyond the margin is fresh; at the margin it is not (see test-token). */
static void
test_margin_is_used(void **state)
{
	g_autoptr(FakeStore) self = fake_store_new("http://127.0.0.1:9/token");
	MoRefreshOptions options = options_new(FALSE);
	g_autoptr(GError) error = NULL;
	g_autoptr(MoToken) token = NULL;

	/* a few seconds of slack for a slow machine, far from the margin */
	fake_store_add(self, "a", "r", 120);
	options.margin = 60;
	token = mo_refresh_get_token(&self->store, &options, NULL, &error);
	mo_assert_no_error(error);
	/* fresh at the first look: no lock, no second load */
	assert_int_equal(self->n_load, 1);
	assert_int_equal(self->n_load_app, 0);
	assert_false(g_file_test(self->lock_path, G_FILE_TEST_EXISTS));
}

static guint n_before_request;

static void
count_before_request(void)
{
	n_before_request++;
}

/* The hook (the CLI loads libcurl there) runs only when a request is likely. */
static void
test_before_request_hook(void **state)
{
	g_autoptr(FakeStore) fresh = fake_store_new("http://127.0.0.1:9/token");
	g_autoptr(FakeStore) stale = NULL;
	MoRefreshOptions options = options_new(FALSE);
	g_autoptr(GError) error = NULL;
	g_autoptr(MoToken) token = NULL;
	g_autofree gchar *url = NULL;
	gint fd = -1;

	options.before_request = count_before_request;
	n_before_request = 0;
	fake_store_add(fresh, "fresh-a", "r", 3600);
	token = mo_refresh_get_token(&fresh->store, &options, NULL, &error);
	mo_assert_no_error(error);
	assert_int_equal(n_before_request, 0);

	url = refusing_url(&fd);
	stale = fake_store_new(url);
	fake_store_add(stale, "stale-a", "r", 10);
	g_clear_pointer(&token, mo_token_free);
	token = mo_refresh_get_token(&stale->store, &options, NULL, &error);
	assert_null(token);
	assert_int_equal(n_before_request, 1);
	close(fd);
}

static void
assert_failed_refresh_left_store_alone(FakeStore *self, const GError *error, gboolean refreshed)
{
	mo_assert_error(error, MO_ERROR, MO_ERROR_TRANSIENT);
	mo_assert_str_contains(error->message, TEST_ACCOUNT);
	assert_false(refreshed);
	assert_int_equal(self->n_load, 2);
	assert_int_equal(self->n_load_app, 1);
	assert_int_equal(self->n_save, 0);
	assert_null(self->saved);
	/* the refresh ran under the account's lock, and let go of it */
	assert_true(self->lock_held_in_load_app);
	assert_true(g_file_test(self->lock_path, G_FILE_TEST_EXISTS));
	assert_false(lock_is_held(self->lock_path));
}

static void
test_force_attempts_refresh(void **state)
{
	gint fd = -1;
	g_autofree gchar *url = refusing_url(&fd);
	g_autoptr(FakeStore) self = fake_store_new(url);
	MoRefreshOptions options = options_new(TRUE);
	g_autoptr(GError) error = NULL;
	g_autoptr(MoToken) token = NULL;
	gboolean refreshed = TRUE;
	MoToken *stored = fake_store_add(self, "fresh-a", "r", 3600);
	gint64 expiry = stored->expiry;

	token = mo_refresh_get_token(&self->store, &options, &refreshed, &error);
	close(fd);
	assert_null(token);
	assert_failed_refresh_left_store_alone(self, error, refreshed);
	assert_string_equal(stored->access_token, "fresh-a");
	assert_string_equal(stored->refresh_token, "r");
	mo_assert_int64_equal(stored->expiry, expiry);
}

static void
record_warning(const gchar *message, gpointer user_data)
{
	gchar **slot = user_data;

	g_free(*slot);
	*slot = g_strdup(message);
}

/* Too little left to be of use: the failure is the caller's to see. */
static void
test_stale_token_attempts_refresh(void **state)
{
	gint fd = -1;
	g_autofree gchar *url = refusing_url(&fd);
	g_autoptr(FakeStore) self = fake_store_new(url);
	MoRefreshOptions options = options_new(FALSE);
	g_autoptr(GError) error = NULL;
	g_autoptr(MoToken) token = NULL;
	gboolean refreshed = TRUE;

	fake_store_add(self, "stale-a", "r", MO_REFRESH_KEEP_MIN_LEFT - 10);
	token = mo_refresh_get_token(&self->store, &options, &refreshed, &error);
	close(fd);
	assert_null(token);
	assert_failed_refresh_left_store_alone(self, error, refreshed);
}

/* A refresh that fails for a passing reason while the stored token still has minutes left:
 * that token is handed out (mbsync works on), with a warning, and nothing is stored. */
static void
test_stale_but_valid_token_kept_on_transient_failure(void **state)
{
	gint fd = -1;
	g_autofree gchar *url = refusing_url(&fd);
	g_autoptr(FakeStore) self = fake_store_new(url);
	MoRefreshOptions options = options_new(FALSE);
	g_autoptr(GError) error = NULL;
	g_autoptr(MoToken) token = NULL;
	g_autofree gchar *warning = NULL;
	gboolean refreshed = TRUE;

	options.warn = record_warning;
	options.warn_data = &warning;
	fake_store_add(self, "stale-a", "r", MO_DEFAULT_REFRESH_MARGIN);
	token = mo_refresh_get_token(&self->store, &options, &refreshed, &error);
	close(fd);
	mo_assert_no_error(error);
	assert_non_null(token);
	assert_string_equal(token->access_token, "stale-a");
	assert_false(refreshed);
	assert_int_equal(self->n_save, 0);
	assert_non_null(warning);
	mo_assert_str_contains(warning, TEST_ACCOUNT);
}

static void
test_refreshed_meanwhile(void **state)
{
	g_autoptr(FakeStore) self = fake_store_new("http://127.0.0.1:9/token");
	MoRefreshOptions options = options_new(FALSE);
	g_autoptr(GError) error = NULL;
	g_autoptr(MoToken) token = NULL;
	gboolean refreshed = TRUE;

	/* stale when first read; fresh once we hold the lock: someone else refreshed it */
	fake_store_add(self, "old-a", "old-r", 10);
	fake_store_add(self, "new-a", "new-r", 3600);
	token = mo_refresh_get_token(&self->store, &options, &refreshed, &error);
	mo_assert_no_error(error);
	assert_non_null(token);
	assert_string_equal(token->access_token, "new-a");
	assert_string_equal(token->refresh_token, "new-r");
	assert_false(refreshed);
	assert_int_equal(self->n_load, 2);
	assert_int_equal(self->n_load_app, 0);
	assert_int_equal(self->n_save, 0);
}

/* --force from several processes at once must make one refresh, not one each. */
static void
test_forced_refreshed_meanwhile(void **state)
{
	g_autoptr(FakeStore) self = fake_store_new("http://127.0.0.1:9/token");
	g_autoptr(FakeStore) by_time = fake_store_new("http://127.0.0.1:9/token");
	MoRefreshOptions options = options_new(TRUE);
	g_autoptr(GError) error = NULL;
	g_autoptr(MoToken) token = NULL;
	g_autoptr(MoToken) token2 = NULL;
	MoToken *later;

	fake_store_add(self, "old-a", "r", 3600);
	fake_store_add(self, "new-a", "r", 3600);
	token = mo_refresh_get_token(&self->store, &options, NULL, &error);
	mo_assert_no_error(error);
	assert_string_equal(token->access_token, "new-a");
	assert_int_equal(self->n_load_app, 0);
	assert_int_equal(self->n_save, 0);

	/* same access token, but the refresh time moved: also someone else's refresh */
	fake_store_add(by_time, "a", "r", 3600);
	later = fake_store_add(by_time, "a", "r", 3600);
	later->last_refresh = mo_test_now();
	token2 = mo_refresh_get_token(&by_time->store, &options, NULL, &error);
	mo_assert_no_error(error);
	assert_non_null(token2);
	mo_assert_int64_equal(token2->last_refresh, later->last_refresh);
	assert_int_equal(by_time->n_load_app, 0);
}

static FakeStore *
fake_store_with_server(MoTestServer *server)
{
	g_autofree gchar *url = mo_test_server_get_url(server, "/token");

	return fake_store_new(url);
}

static void
test_refresh_stores_rotated_token(void **state)
{
	const gchar *body = "{\"access_token\":\"new-a\",\"refresh_token\":\"rotated-r\","
			    "\"expires_in\":3600,\"scope\":\"s\"}";
	g_autoptr(MoTestServer) server = mo_test_server_new(200, NULL, body, strlen(body));
	g_autoptr(FakeStore) self = fake_store_with_server(server);
	MoRefreshOptions options = options_new(FALSE);
	g_autoptr(GError) error = NULL;
	g_autoptr(MoToken) token = NULL;
	gboolean refreshed = FALSE;
	gint64 before = mo_test_now();

	fake_store_add(self, "old-a", "old-r", 0);
	token = mo_refresh_get_token(&self->store, &options, &refreshed, &error);
	mo_assert_no_error(error);
	assert_non_null(token);
	assert_true(refreshed);
	assert_int_equal(mo_test_server_get_n_requests(server), 1);
	assert_int_equal(self->n_save, 1);
	assert_true(self->lock_held_in_save);
	assert_false(lock_is_held(self->lock_path));

	assert_string_equal(self->saved->access_token, "new-a");
	assert_string_equal(self->saved->refresh_token, "rotated-r");
	assert_string_equal(self->saved->scope, "s");
	assert_in_range(self->saved->expiry, before + 3600, mo_test_now() + 3600);
	assert_in_range(self->saved->last_refresh, before, mo_test_now());
	/* what the caller gets is what was stored */
	assert_string_equal(token->access_token, "new-a");
	assert_string_equal(token->refresh_token, "rotated-r");
}

static void
test_refresh_keeps_refresh_token(void **state)
{
	const gchar *body = "{\"access_token\":\"new-a\",\"expires_in\":3600}";
	g_autoptr(MoTestServer) server = mo_test_server_new(200, NULL, body, strlen(body));
	g_autoptr(FakeStore) self = fake_store_with_server(server);
	MoRefreshOptions options = options_new(TRUE);
	g_autoptr(GError) error = NULL;
	g_autoptr(MoToken) token = NULL;

	fake_store_add(self, "old-a", "old-r", 3600);
	token = mo_refresh_get_token(&self->store, &options, NULL, &error);
	mo_assert_no_error(error);
	assert_int_equal(self->n_save, 1);
	assert_string_equal(self->saved->access_token, "new-a");
	assert_string_equal(self->saved->refresh_token, "old-r");
	assert_string_equal(token->refresh_token, "old-r");
}

static void
test_refresh_invalid_grant(void **state)
{
	const gchar *body = "{\"error\":\"invalid_grant\",\"error_description\":\"AADSTS700082\"}";
	g_autoptr(MoTestServer) server = mo_test_server_new(400, NULL, body, strlen(body));
	g_autoptr(FakeStore) self = fake_store_with_server(server);
	MoRefreshOptions options = options_new(FALSE);
	g_autoptr(GError) error = NULL;
	g_autoptr(MoToken) token = NULL;

	fake_store_add(self, "old-a", "old-r", 0);
	token = mo_refresh_get_token(&self->store, &options, NULL, &error);
	assert_null(token);
	/* the context added on the way keeps the OAuth2 code that decides the exit status */
	mo_assert_error(error, MO_OAUTH_ERROR, MO_OAUTH_ERROR_INVALID_GRANT);
	mo_assert_str_contains(error->message, TEST_ACCOUNT);
	mo_assert_str_contains(error->message, "AADSTS700082");
	assert_int_equal(mo_error_to_exit_code(error), MO_EXIT_REAUTHORIZE);
	assert_int_equal(self->n_save, 0);
	assert_int_equal(mo_test_server_get_n_requests(server), 1);
}

static void
test_no_refresh_token(void **state)
{
	g_autoptr(FakeStore) self = fake_store_new("http://127.0.0.1:9/token");
	MoRefreshOptions options = options_new(FALSE);
	g_autoptr(GError) error = NULL;
	g_autoptr(MoToken) token = NULL;

	fake_store_add(self, "a", NULL, 10);
	token = mo_refresh_get_token(&self->store, &options, NULL, &error);
	assert_null(token);
	mo_assert_error(error, MO_ERROR, MO_ERROR_INVALID_DATA);
	mo_assert_str_contains(error->message, TEST_ACCOUNT);
	assert_int_equal(self->n_load_app, 0);
	assert_int_equal(self->n_save, 0);
}

/* The journal of a fake store: one file in the test directory. */
static void
fake_store_use_journal(FakeStore *self, gchar **paths)
{
	static guint n_journals = 0;

	paths[0] = g_strdup_printf("%s/journals/journal-%u", test_dir, n_journals++);
	paths[1] = NULL;
	self->store.journal_paths = (const gchar *const *)paths;
}

/* A refresh whose result cannot be stored still serves its caller, warns, and keeps the
 * answer in the journal (0600); the next refresh stores it without asking the provider. */
static void
test_save_fails_journal_recovers(void **state)
{
	const gchar *body = "{\"access_token\":\"new-a\",\"refresh_token\":\"rotated-r\","
			    "\"expires_in\":3600}";
	g_autoptr(MoTestServer) server = mo_test_server_new(200, NULL, body, strlen(body));
	g_autoptr(FakeStore) self = fake_store_with_server(server);
	MoRefreshOptions options = options_new(FALSE);
	g_autoptr(GError) error = NULL;
	g_autoptr(MoToken) token = NULL;
	g_autofree gchar *warning = NULL;
	g_auto(GStrv) journal = g_new0(gchar *, 2);
	gboolean refreshed = FALSE;
	struct stat st;

	fake_store_use_journal(self, journal);
	options.warn = record_warning;
	options.warn_data = &warning;
	self->fail_save = TRUE;
	fake_store_add(self, "old-a", "old-r", 0);
	token = mo_refresh_get_token(&self->store, &options, &refreshed, &error);
	mo_assert_no_error(error);
	assert_string_equal(token->access_token, "new-a");
	assert_true(refreshed);
	assert_int_equal(self->n_save, 1);
	mo_assert_str_contains(warning, TEST_ACCOUNT);
	mo_assert_str_contains(warning, "journal");
	mo_assert_str_lacks(warning, "rotated-r");
	assert_int_equal(stat(journal[0], &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);

	/* the next process: the store still has the old grant; the journal goes in first */
	self->fail_save = FALSE;
	g_clear_pointer(&token, mo_token_free);
	token = mo_refresh_get_token(&self->store, &options, &refreshed, &error);
	mo_assert_no_error(error);
	assert_string_equal(token->access_token, "new-a");
	assert_int_equal(mo_test_server_get_n_requests(server), 1);
	assert_int_equal(self->n_save, 2);
	assert_string_equal(self->saved->refresh_token, "rotated-r");
	assert_false(g_file_test(journal[0], G_FILE_TEST_EXISTS));
}

/* A journal of another grant (the account was signed in again since) is dropped, unused. */
static void
test_stale_journal_dropped(void **state)
{
	g_autoptr(FakeStore) self = fake_store_new("http://127.0.0.1:9/token");
	MoRefreshOptions options = options_new(FALSE);
	g_autoptr(GError) error = NULL;
	g_autoptr(MoToken) token = NULL;
	g_autoptr(MoToken) other = mo_token_new();
	g_autoptr(MoToken) journaled = mo_token_new();
	g_auto(GStrv) journal = g_new0(gchar *, 2);

	g_autofree gchar *warning = NULL;

	options.warn = record_warning;
	options.warn_data = &warning;
	fake_store_use_journal(self, journal);
	other->refresh_token = g_strdup("some-other-grant");
	journaled->access_token = g_strdup("journal-a");
	journaled->refresh_token = g_strdup("journal-r");
	journaled->expiry = mo_test_now() + 3600;
	assert_true(mo_journal_write(self->store.journal_paths, other, journaled, NULL));
	/* stale enough to take the lock, fresh enough not to need the provider afterwards */
	fake_store_add(self, "stored-a", "stored-r", 300);
	fake_store_add(self, "stored-a", "stored-r", 300);
	options.margin = 600;
	options.force = FALSE;
	token = mo_refresh_get_token(&self->store, &options, NULL, &error);
	/* the refusing endpoint fails the refresh; the stored token, still valid, is kept */
	mo_assert_no_error(error);
	assert_string_equal(token->access_token, "stored-a");
	assert_int_equal(self->n_save, 0);
	assert_false(g_file_test(journal[0], G_FILE_TEST_EXISTS));
}

/* Without a journal the caller still gets the new token, and hears what may follow. */
static void
test_save_fails_without_journal(void **state)
{
	const gchar *body = "{\"access_token\":\"new-a\",\"refresh_token\":\"rotated-r\"}";
	g_autoptr(MoTestServer) server = mo_test_server_new(200, NULL, body, strlen(body));
	g_autoptr(FakeStore) self = fake_store_with_server(server);
	MoRefreshOptions options = options_new(FALSE);
	g_autoptr(GError) error = NULL;
	g_autoptr(MoToken) token = NULL;
	g_autofree gchar *warning = NULL;

	options.warn = record_warning;
	options.warn_data = &warning;
	self->fail_save = TRUE;
	fake_store_add(self, "old-a", "old-r", 0);
	token = mo_refresh_get_token(&self->store, &options, NULL, &error);
	mo_assert_no_error(error);
	assert_string_equal(token->access_token, "new-a");
	mo_assert_str_contains(warning, "no Secret Service");
	mo_assert_str_contains(warning, "new sign-in");
	mo_assert_str_lacks(warning, "rotated-r");
	mo_assert_str_lacks(warning, "new-a");
}

static void
test_load_fails(void **state)
{
	g_autoptr(FakeStore) self = fake_store_new("http://127.0.0.1:9/token");
	MoRefreshOptions options = options_new(TRUE);
	g_autoptr(GError) error = NULL;
	g_autoptr(MoToken) token = NULL;

	self->fail_load = TRUE;
	fake_store_add(self, "a", "r", 3600);
	token = mo_refresh_get_token(&self->store, &options, NULL, &error);
	assert_null(token);
	mo_assert_error(error, MO_ERROR, MO_ERROR_KEYRING_LOCKED);
	assert_int_equal(self->n_load, 1);
	assert_int_equal(self->n_load_app, 0);
	assert_false(g_file_test(self->lock_path, G_FILE_TEST_EXISTS));
}

static void
test_load_app_fails(void **state)
{
	g_autoptr(FakeStore) self = fake_store_new("http://127.0.0.1:9/token");
	MoRefreshOptions options = options_new(FALSE);
	g_autoptr(GError) error = NULL;
	g_autoptr(MoToken) token = NULL;

	self->fail_load_app = TRUE;
	fake_store_add(self, "a", "r", 0);
	token = mo_refresh_get_token(&self->store, &options, NULL, &error);
	assert_null(token);
	mo_assert_error(error, MO_ERROR, MO_ERROR_NOT_FOUND);
	assert_int_equal(self->n_load_app, 1);
	assert_int_equal(self->n_save, 0);
	assert_false(lock_is_held(self->lock_path));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fresh_token_fast_path),
		cmocka_unit_test(test_margin_is_used),
		cmocka_unit_test(test_before_request_hook),
		cmocka_unit_test(test_force_attempts_refresh),
		cmocka_unit_test(test_stale_token_attempts_refresh),
		cmocka_unit_test(test_stale_but_valid_token_kept_on_transient_failure),
		cmocka_unit_test(test_refreshed_meanwhile),
		cmocka_unit_test(test_forced_refreshed_meanwhile),
		cmocka_unit_test(test_refresh_stores_rotated_token),
		cmocka_unit_test(test_refresh_keeps_refresh_token),
		cmocka_unit_test(test_refresh_invalid_grant),
		cmocka_unit_test(test_no_refresh_token),
		cmocka_unit_test(test_save_fails_journal_recovers),
		cmocka_unit_test(test_stale_journal_dropped),
		cmocka_unit_test(test_save_fails_without_journal),
		cmocka_unit_test(test_load_fails),
		cmocka_unit_test(test_load_app_fails),
	};
	gint rc;

	mo_test_init();
	test_dir = mo_test_make_tmpdir();
	/* before anything asks GLib, which caches it */
	g_setenv("XDG_RUNTIME_DIR", test_dir, TRUE);
	cmocka_set_message_output(CM_OUTPUT_TAP);
	rc = cmocka_run_group_tests_name("unit/refresh", tests, NULL, NULL);
	mo_test_rm_rf(test_dir);
	g_free(test_dir);
	return rc;
}
