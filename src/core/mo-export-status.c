/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <errno.h>
#include <glib/gi18n-lib.h>
#include <string.h>
#include <sys/stat.h>

#include "mo-error.h"
#include "mo-export-status.h"
#include "mo-file.h"
#include "mo-json.h"
#include "mo-token.h"

/**
 * mo_export_status_new:
 *
 * Returns: (transfer full): an empty status
 */
MoExportStatus *
mo_export_status_new(void)
{
	return g_new0(MoExportStatus, 1);
}

void
mo_export_status_free(MoExportStatus *status)
{
	if (status == NULL)
		return;
	g_free(status->account);
	g_free(status->path);
	g_free(status->last_error);
	g_free(status);
}

/**
 * mo_export_status_path:
 * @token_file_path: the absolute path of a token file
 *
 * The status file of a token file, in the sibling directory named after the token file's own
 * with ".status" appended: /etc/sasl-tokens/X has /etc/sasl-tokens.status/X.
 *
 * Returns: (transfer full): the status file's path
 */
gchar *
mo_export_status_path(const gchar *token_file_path)
{
	g_autofree gchar *dir = NULL;
	g_autofree gchar *base = NULL;
	g_autofree gchar *status_dir = NULL;

	g_return_val_if_fail(token_file_path != NULL, NULL);
	g_return_val_if_fail(g_path_is_absolute(token_file_path), NULL);

	dir = g_path_get_dirname(token_file_path);
	base = g_path_get_basename(token_file_path);
	status_dir = g_strconcat(dir, MO_EXPORT_STATUS_SUFFIX, NULL);
	return g_build_filename(status_dir, base, NULL);
}

/* Someone else's text (a provider's error) that ends up in a terminal: valid UTF-8, no control
 * characters (C0, DEL, C1), at most MO_EXPORT_STATUS_ERROR_MAX bytes, cut between characters. */
static gchar *
mo_export_status_clean_error(const gchar *text)
{
	g_autofree gchar *valid = g_utf8_make_valid(text, -1);
	GString *out = g_string_new(NULL);

	for (const gchar *p = valid; *p != '\0'; p = g_utf8_next_char(p)) {
		gunichar c = g_utf8_get_char(p);
		gsize len = g_unichar_iscntrl(c) ? 1 : (gsize)(g_utf8_next_char(p) - p);

		if (out->len + len > MO_EXPORT_STATUS_ERROR_MAX)
			break;
		if (g_unichar_iscntrl(c))
			g_string_append_c(out, '?');
		else
			g_string_append_len(out, p, (gssize)len);
	}
	return g_string_free(out, FALSE);
}

/**
 * mo_export_status_to_json:
 * @status: a status
 *
 * Serializes @status; an @updated of 0 is written as the current time, and last_error is
 * cleaned (no control characters, at most %MO_EXPORT_STATUS_ERROR_MAX bytes).
 *
 * Returns: (transfer full): the JSON document
 */
gchar *
mo_export_status_to_json(const MoExportStatus *status)
{
	g_autoptr(MoJson) obj = NULL;
	gint64 updated;

	g_return_val_if_fail(status != NULL, NULL);

	obj = mo_json_new_object();
	updated = status->updated > 0 ? status->updated : g_get_real_time() / G_USEC_PER_SEC;
	mo_json_set_int64(obj, "version", MO_EXPORT_STATUS_VERSION);
	mo_json_set_string(obj, "account", status->account);
	mo_json_set_string(obj, "path", status->path);
	mo_json_set_int64(obj, "expiry", MAX(status->expiry, 0));
	mo_json_set_int64(obj, "last_refresh", MAX(status->last_refresh, 0));
	mo_json_set_int64(obj, "updated", updated);
	if (status->last_error != NULL) {
		g_autofree gchar *last_error = mo_export_status_clean_error(status->last_error);
		mo_json_set_string(obj, "last_error", last_error);
	}
	mo_json_object_set(obj, "needs_sign_in", mo_json_new_boolean(status->needs_sign_in));
	return mo_json_to_string(obj, TRUE);
}

/* The status directory exists (TRUE, with its owner in @st) or not (TRUE, st_nlink 0). */
static gboolean
mo_export_status_stat_dir(const gchar *dir, struct stat *st, GError **error)
{
	memset(st, 0, sizeof(*st));
	if (lstat(dir, st) != 0) {
		int errsv = errno;
		if (errsv == ENOENT || errsv == ENOTDIR) {
			memset(st, 0, sizeof(*st));
			return TRUE;
		}
		g_set_error(error,
			    MO_ERROR,
			    MO_ERROR_FAILED,
			    _("Cannot read the status directory %s: %s"),
			    dir,
			    g_strerror(errsv));
		return FALSE;
	}
	/* root may write here (a system timer refreshing exports): follow no symlink */
	if (!S_ISDIR(st->st_mode)) {
		g_set_error(error,
			    MO_ERROR,
			    MO_ERROR_INVALID_DATA,
			    _("The status directory %s is a symbolic link or not a directory"),
			    dir);
		return FALSE;
	}
	return TRUE;
}

/**
 * mo_export_status_write:
 * @token_file_path: the absolute path of the token file the status is about
 * @status: its status
 * @error: (nullable): return location for a #GError
 *
 * Replaces the token file's status file atomically, mode 0644, owned by the owner of the
 * status directory. Only exports have a status directory; without one this does nothing and
 * succeeds, so the token file of a user's own gets no status file.
 *
 * Returns: %TRUE on success (written or nothing to write)
 */
gboolean
mo_export_status_write(const gchar *token_file_path, const MoExportStatus *status, GError **error)
{
	g_autofree gchar *path = NULL;
	g_autofree gchar *dir = NULL;
	g_autofree gchar *json = NULL;
	struct stat st;

	g_return_val_if_fail(token_file_path != NULL, FALSE);
	g_return_val_if_fail(g_path_is_absolute(token_file_path), FALSE);
	g_return_val_if_fail(status != NULL, FALSE);
	g_return_val_if_fail(error == NULL || *error == NULL, FALSE);

	path = mo_export_status_path(token_file_path);
	dir = g_path_get_dirname(path);
	if (!mo_export_status_stat_dir(dir, &st, error))
		return FALSE;
	if (st.st_nlink == 0) {
		/* not an export: nobody reads a status */
		return TRUE;
	}
	json = mo_export_status_to_json(status);
	if (!mo_file_replace(path,
			     json,
			     strlen(json),
			     MO_EXPORT_STATUS_MODE,
			     st.st_uid,
			     st.st_gid,
			     error))
		return FALSE;

	/* success */
	return TRUE;
}

static gboolean
mo_export_status_get_boolean(const MoJson *obj,
			     const gchar *member,
			     gboolean *out,
			     const gchar *what,
			     GError **error)
{
	MoJson *node = mo_json_object_get(obj, member);

	*out = FALSE;
	if (node == NULL || mo_json_get_type(node) == MO_JSON_NULL)
		return TRUE;
	if (mo_json_get_type(node) != MO_JSON_BOOLEAN) {
		g_set_error(error,
			    MO_ERROR,
			    MO_ERROR_INVALID_DATA,
			    _("In the %s, “%s” is not true or false"),
			    what,
			    member);
		return FALSE;
	}
	*out = mo_json_get_boolean(node);
	return TRUE;
}

static gboolean
mo_export_status_read_members(MoExportStatus *status,
			      const MoJson *obj,
			      const gchar *what,
			      GError **error)
{
	if (!mo_json_check_version(obj, MO_EXPORT_STATUS_VERSION, what, error) ||
	    !mo_json_get_string(obj, "account", &status->account, what, error) ||
	    !mo_json_get_string(obj, "path", &status->path, what, error) ||
	    !mo_json_get_int64(obj, "expiry", &status->expiry, what, error) ||
	    !mo_json_get_int64(obj, "last_refresh", &status->last_refresh, what, error) ||
	    !mo_json_get_int64(obj, "updated", &status->updated, what, error) ||
	    !mo_json_get_string(obj, "last_error", &status->last_error, what, error) ||
	    !mo_export_status_get_boolean(obj,
					  "needs_sign_in",
					  &status->needs_sign_in,
					  what,
					  error))
		return FALSE;
	if (status->account == NULL || status->path == NULL) {
		g_set_error(error,
			    MO_ERROR,
			    MO_ERROR_INVALID_DATA,
			    _("The %s names no account or token file"),
			    what);
		return FALSE;
	}
	return TRUE;
}

/**
 * mo_export_status_read:
 * @status_file: the path of a status file
 * @error: (nullable): return location for a #GError
 *
 * Reads a status file. Its last_error is cleaned as on writing: whoever could write the file
 * must not reach the reader's terminal.
 *
 * Returns: (transfer full): the status, or %NULL with @error set
 */
MoExportStatus *
mo_export_status_read(const gchar *status_file, GError **error)
{
	g_autofree gchar *what = NULL;
	g_autofree gchar *data = NULL;
	g_autoptr(MoJson) obj = NULL;
	g_autoptr(MoExportStatus) status = mo_export_status_new();
	struct stat st;
	gsize len = 0;

	g_return_val_if_fail(status_file != NULL, NULL);
	g_return_val_if_fail(error == NULL || *error == NULL, NULL);

	data = mo_file_read_secret(status_file, MO_EXPORT_STATUS_MAX_SIZE, &len, &st, error);
	if (data == NULL)
		return NULL;
	what = g_strdup_printf(_("status file %s"), status_file);
	obj = mo_json_parse_object(data, (gssize)len, what, error);
	if (obj == NULL)
		return NULL;
	if (!mo_export_status_read_members(status, obj, what, error))
		return NULL;
	if (status->last_error != NULL) {
		gchar *clean = mo_export_status_clean_error(status->last_error);
		g_free(status->last_error);
		status->last_error = clean;
	}

	/* success */
	return g_steal_pointer(&status);
}

/**
 * mo_export_status_record:
 * @token_file_path: the token file, as the caller opened it
 * @token: (nullable): the token after the refresh; %NULL when it failed
 * @failure: (nullable): why the refresh failed
 *
 * Records how a refresh of an exported token file went, for "mailoauth status": by the SASL
 * plugin inside postfix and by "mailoauth refresh --exported". Does nothing for a file that
 * has no status directory beside it (one of the user's own); a status that cannot be written
 * must not fail the refresh, so it is only logged.
 */
void
mo_export_status_record(const gchar *token_file_path, const MoToken *token, const GError *failure)
{
	g_autofree gchar *status_path = mo_export_status_path(token_file_path);
	g_autoptr(MoExportStatus) status = NULL;
	g_autoptr(GError) error_local = NULL;

	/* a failed refresh keeps the last good expiry and refresh time, and the path stays as
	 * the helper wrote it: as postfix names it, which the timer outside the chroot does not */
	status = mo_export_status_read(status_path, NULL);
	if (status == NULL)
		status = mo_export_status_new();
	g_clear_pointer(&status->last_error, g_free);
	status->needs_sign_in = FALSE;
	status->updated = 0;
	if (status->account == NULL)
		status->account = g_path_get_basename(token_file_path);
	if (status->path == NULL)
		status->path = g_strdup(token_file_path);
	if (token != NULL) {
		status->expiry = token->expiry;
		status->last_refresh = token->last_refresh;
	}
	if (failure != NULL) {
		status->last_error = g_strdup(failure->message);
		status->needs_sign_in = mo_error_needs_reauthorization(failure);
	}
	if (!mo_export_status_write(token_file_path, status, &error_local))
		g_debug("cannot record the status of %s: %s",
			token_file_path,
			error_local->message);
}
