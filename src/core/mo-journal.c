/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gi18n-lib.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mo-error.h"
#include "mo-file.h"
#include "mo-journal.h"
#include "mo-json.h"
#include "mo-secure.h"

/* The refresh journal: a provider's answer (a new access token and, with rotation, a new
 * refresh token) exists nowhere but in the refreshing process until the store has it. When
 * the store fails (a full disk, a keyring killed or hung mid-write, a read-only directory)
 * or the process is killed, the answer would be lost, and a rotating provider then refuses
 * the old refresh token for good. So the answer goes first into a small 0600 file on tmpfs
 * (or beside the token file), and the next refresh, under the same lock, takes it back. */

#define MO_JOURNAL_VERSION 1

static gchar *
mo_journal_serialize(const MoToken *previous, const MoToken *fresh)
{
	g_autoptr(MoJson) obj = mo_json_new_object();

	mo_json_set_int64(obj, "version", MO_JOURNAL_VERSION);
	/* which stored grant it continues: a journal of another grant is stale */
	mo_json_set_string(obj, "previous_refresh_token", previous->refresh_token);
	mo_json_set_string(obj, "access_token", fresh->access_token);
	mo_json_set_string(obj, "refresh_token", fresh->refresh_token);
	mo_json_set_string(obj, "scope", fresh->scope);
	mo_json_set_int64(obj, "expiry", fresh->expiry);
	mo_json_set_int64(obj, "last_refresh", fresh->last_refresh);
	return mo_json_to_string(obj, FALSE);
}

/* The journal belongs to whoever owns its directory: root refreshing postfix's token file
 * writes a journal postfix can take back. */
static void
mo_journal_dir_owner(const gchar *path, uid_t *uid, gid_t *gid)
{
	g_autofree gchar *dir = g_path_get_dirname(path);
	struct stat st;

	*uid = geteuid();
	*gid = getegid();
	if (stat(dir, &st) == 0) {
		*uid = st.st_uid;
		*gid = st.st_gid;
	}
}

/* In place, not a temp file renamed over it: the answer must carry its final name from the
 * first moment, or a process killed before the rename (fsync takes milliseconds) leaves it
 * where no one looks. A write of a few hundred bytes reaches the page cache whole, so a kill
 * leaves all of it or (before the write) an empty file, which reads as no journal; the fsync
 * is for a power loss. The old journal it truncates was recovered under the same lock. */
static gboolean
mo_journal_write_in_place(const gchar *path, const gchar *data, uid_t uid, gid_t gid)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	gboolean ok;

	if (fd < 0)
		return FALSE;
	if (geteuid() == 0 && fchown(fd, uid, gid) != 0)
		g_debug("cannot give the journal %s to its directory's owner", path);
	ok = fchmod(fd, 0600) == 0 && mo_file_write_all(fd, data, strlen(data)) && fsync(fd) == 0;
	if (close(fd) != 0)
		ok = FALSE;
	return ok;
}

static gboolean
mo_journal_write_one(const gchar *path, const gchar *data, GError **error)
{
	g_autofree gchar *dir = g_path_get_dirname(path);
	uid_t uid;
	gid_t gid;

	if (g_mkdir_with_parents(dir, 0700) != 0) {
		int errsv = errno;
		g_set_error(error,
			    MO_ERROR,
			    MO_ERROR_FAILED,
			    _("Cannot create %s: %s"),
			    dir,
			    g_strerror(errsv));
		return FALSE;
	}
	mo_journal_dir_owner(path, &uid, &gid);
	if (!mo_journal_write_in_place(path, data, uid, gid)) {
		int errsv = errno;
		g_set_error(error,
			    MO_ERROR,
			    MO_ERROR_FAILED,
			    _("Cannot write the refresh journal %s: %s"),
			    path,
			    g_strerror(errsv));
		return FALSE;
	}
	/* success */
	return TRUE;
}

/**
 * mo_journal_write:
 * @paths: candidate journal files, best first
 * @previous: the stored token the refresh started from
 * @fresh: the token after the refresh
 * @error: a #GError, or %NULL
 *
 * Writes the refreshed token to the first candidate that takes it (atomically, 0600,
 * fsynced), and removes any older journal of the others.
 *
 * Returns: %TRUE if one candidate holds it
 */
gboolean
mo_journal_write(const gchar *const *paths,
		 const MoToken *previous,
		 const MoToken *fresh,
		 GError **error)
{
	mo_autosecret gchar *data = NULL;
	g_autoptr(GError) error_local = NULL;
	gboolean written = FALSE;

	g_return_val_if_fail(error == NULL || *error == NULL, FALSE);

	data = mo_journal_serialize(previous, fresh);
	for (guint i = 0; paths != NULL && paths[i] != NULL; i++) {
		if (written) {
			g_unlink(paths[i]);
			continue;
		}
		g_clear_error(&error_local);
		written = mo_journal_write_one(paths[i], data, &error_local);
	}
	if (!written) {
		if (error_local != NULL)
			g_propagate_error(error, g_steal_pointer(&error_local));
		else
			g_set_error(error,
				    MO_ERROR,
				    MO_ERROR_FAILED,
				    _("No place for the journal"));
		return FALSE;
	}
	/* success */
	return TRUE;
}

static MoToken *
mo_journal_parse(const gchar *data, gsize len, const gchar *path, gchar **previous)
{
	g_autofree gchar *what = g_strdup_printf(_("refresh journal %s"), path);
	g_autoptr(MoJson) obj = mo_json_parse_object(data, (gssize)len, what, NULL);
	g_autoptr(MoToken) token = mo_token_new();

	if (obj == NULL || !mo_json_check_version(obj, MO_JOURNAL_VERSION, what, NULL) ||
	    !mo_json_get_string(obj, "previous_refresh_token", previous, what, NULL) ||
	    !mo_json_get_string(obj, "access_token", &token->access_token, what, NULL) ||
	    !mo_json_get_string(obj, "refresh_token", &token->refresh_token, what, NULL) ||
	    !mo_json_get_string(obj, "scope", &token->scope, what, NULL) ||
	    !mo_json_get_int64(obj, "expiry", &token->expiry, what, NULL) ||
	    !mo_json_get_int64(obj, "last_refresh", &token->last_refresh, what, NULL))
		return NULL;
	if (token->access_token == NULL || token->refresh_token == NULL)
		return NULL;
	return g_steal_pointer(&token);
}

/**
 * mo_journal_read:
 * @paths: the candidate journal files
 * @previous: (out) (transfer full): the refresh token the journaled refresh started from
 *
 * The newest readable journal among @paths (by its last_refresh); a torn or foreign file is
 * skipped. Secrets in the result; wipe them.
 *
 * Returns: (transfer full) (nullable): the journaled token, or %NULL when there is none
 */
MoToken *
mo_journal_read(const gchar *const *paths, gchar **previous)
{
	g_autoptr(MoToken) best = NULL;

	*previous = NULL;
	for (guint i = 0; paths != NULL && paths[i] != NULL; i++) {
		mo_autosecret gchar *data = NULL;
		g_autofree gchar *prev = NULL;
		g_autoptr(MoToken) token = NULL;
		struct stat st;
		gsize len = 0;

		data = mo_file_read_secret(paths[i], MO_JSON_MAX_SIZE, &len, &st, NULL);
		if (data == NULL)
			continue;
		token = mo_journal_parse(data, len, paths[i], &prev);
		if (token == NULL) {
			g_debug("ignoring the unreadable refresh journal %s", paths[i]);
			continue;
		}
		if (best != NULL && best->last_refresh >= token->last_refresh)
			continue;
		g_clear_pointer(&best, mo_token_free);
		mo_secure_free(*previous);
		best = g_steal_pointer(&token);
		*previous = g_steal_pointer(&prev);
	}
	return g_steal_pointer(&best);
}

/**
 * mo_journal_path_for_lock:
 * @lock_path: a lock file, NAME.lock
 *
 * Returns: (transfer full): the journal beside it, NAME.journal
 */
gchar *
mo_journal_path_for_lock(const gchar *lock_path)
{
	gsize len = strlen(lock_path);

	if (g_str_has_suffix(lock_path, ".lock"))
		len -= strlen(".lock");
	return g_strdup_printf("%.*s.journal", (int)len, lock_path);
}

/* Removes every candidate; the store has the journaled token now. */
void
mo_journal_remove(const gchar *const *paths)
{
	for (guint i = 0; paths != NULL && paths[i] != NULL; i++) {
		if (g_unlink(paths[i]) != 0 && errno != ENOENT)
			g_debug("cannot remove the refresh journal %s: %s",
				paths[i],
				g_strerror(errno));
	}
}
