/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <errno.h>
#include <glib/gi18n-lib.h>
#include <string.h>
#include <sys/stat.h>

#include "mo-error.h"
#include "mo-file.h"
#include "mo-postfix-config.h"

/* "mailoauth export --apply": the postfix settings that use an exported token file, made by
 * the root helper with postfix's own tools (postconf -e, postmap), main.cf backed up first. */

#define MO_POSTFIX_SASL_PASSWD "sasl_passwd"

/**
 * mo_postfix_relay_is_valid:
 * @relay: what the user gave as the relay
 * @error: a #GError, or %NULL
 *
 * Accepts `[HOST]:PORT`, the form postfix's relayhost and sasl_passwd use for a host name
 * without an MX lookup: letters, digits, dots and dashes, a port of 1–65535.
 *
 * Returns: %TRUE if @relay has that form
 */
gboolean
mo_postfix_relay_is_valid(const gchar *relay, GError **error)
{
	const gchar *close = relay != NULL ? strstr(relay, "]:") : NULL;
	gboolean ok = relay != NULL && relay[0] == '[' && close != NULL && close > relay + 1;
	guint64 port = 0;

	for (const gchar *p = relay != NULL ? relay + 1 : NULL; ok && p < close; p++)
		ok = g_ascii_isalnum(*p) || *p == '.' || *p == '-';
	if (ok)
		ok = g_ascii_string_to_unsigned(close + 2, 10, 1, 65535, &port, NULL);
	if (!ok)
		g_set_error(error,
			    MO_ERROR,
			    MO_ERROR_INVALID_ARGUMENT,
			    _("“%s” is not a relay of the form [HOST]:PORT"),
			    relay != NULL ? relay : "");
	return ok;
}

/* The sasl_passwd map with the line for @key replaced (or added): one line per key, as
 * postmap wants it. */
static gchar *
mo_postfix_update_map(const gchar *old, const gchar *key, const gchar *value)
{
	g_auto(GStrv) lines = g_strsplit(old != NULL ? old : "", "\n", -1);
	g_autoptr(GString) out = g_string_new(NULL);
	g_autofree gchar *prefix = g_strdup_printf("%s ", key);
	gboolean replaced = FALSE;

	for (guint i = 0; lines[i] != NULL; i++) {
		const gchar *line = lines[i];
		if (line[0] == '\0' && lines[i + 1] == NULL)
			break;
		if (g_str_has_prefix(line, prefix) ||
		    (g_str_has_prefix(line, key) && line[strlen(key)] == '\t')) {
			if (replaced)
				continue;
			g_string_append_printf(out, "%s %s\n", key, value);
			replaced = TRUE;
			continue;
		}
		g_string_append_printf(out, "%s\n", line);
	}
	if (!replaced)
		g_string_append_printf(out, "%s %s\n", key, value);
	return g_string_free(g_steal_pointer(&out), FALSE);
}

static gboolean
mo_postfix_write_map(const gchar *map, const gchar *key, const gchar *value, GError **error)
{
	g_autofree gchar *old = NULL;
	g_autofree gchar *new = NULL;
	g_autoptr(GError) error_local = NULL;
	struct stat st;
	gsize len = 0;

	old = mo_file_read_secret(map, 1024 * 1024, &len, &st, &error_local);
	if (old == NULL && g_file_test(map, G_FILE_TEST_EXISTS)) {
		g_propagate_error(error, g_steal_pointer(&error_local));
		return FALSE;
	}
	new = mo_postfix_update_map(old, key, value);
	return mo_file_replace(map, new, strlen(new), 0600, 0, 0, error);
}

static gboolean
mo_postfix_run(const gchar *const *argv, GError **error)
{
	g_autofree gchar *err = NULL;
	gint status = 0;

	if (!g_spawn_sync(NULL,
			  (gchar **)argv,
			  NULL,
			  G_SPAWN_STDOUT_TO_DEV_NULL,
			  NULL,
			  NULL,
			  NULL,
			  &err,
			  &status,
			  error))
		return FALSE;
	if (!g_spawn_check_wait_status(status, NULL)) {
		g_set_error(error,
			    MO_ERROR,
			    MO_ERROR_FAILED,
			    _("%s failed: %s"),
			    argv[0],
			    err != NULL ? g_strstrip(err) : "");
		return FALSE;
	}
	return TRUE;
}

/* A copy of main.cf beside it, named by the time, before postconf -e changes it. */
static gchar *
mo_postfix_backup(const gchar *config_dir, GError **error)
{
	g_autoptr(GDateTime) now = g_date_time_new_now_local();
	g_autofree gchar *stamp = g_date_time_format(now, "%Y%m%d-%H%M%S");
	g_autofree gchar *main_cf = g_build_filename(config_dir, "main.cf", NULL);
	g_autofree gchar *name = g_strdup_printf("main.cf.mailoauth-%s", stamp);
	g_autofree gchar *backup = g_build_filename(config_dir, name, NULL);
	g_autofree gchar *data = NULL;
	gsize len = 0;
	struct stat st;

	if (stat(main_cf, &st) != 0 || !g_file_get_contents(main_cf, &data, &len, error)) {
		if (error != NULL && *error == NULL)
			g_set_error(error,
				    MO_ERROR,
				    MO_ERROR_FAILED,
				    _("Cannot read %s: %s"),
				    main_cf,
				    g_strerror(errno));
		return NULL;
	}
	if (!mo_file_replace(backup, data, len, st.st_mode, st.st_uid, st.st_gid, error))
		return NULL;
	return g_steal_pointer(&backup);
}

/**
 * mo_postfix_apply:
 * @postconf: the postconf binary (its directory holds postmap)
 * @config_dir: postfix's configuration directory
 * @relay: `[HOST]:PORT`, checked with mo_postfix_relay_is_valid()
 * @user: the SASL login name
 * @token_path: the token file as postfix names it in sasl_passwd
 * @summary: (out) (transfer full): what was done, for the user
 * @error: a #GError, or %NULL
 *
 * Backs up main.cf, puts `RELAY USER:PATH` into sasl_passwd (replacing the relay's old
 * line), runs postmap on it, and sets relayhost and the smtp_sasl_* settings with
 * `postconf -e`.
 *
 * Returns: %TRUE on success
 */
gboolean
mo_postfix_apply(const gchar *postconf,
		 const gchar *config_dir,
		 const gchar *relay,
		 const gchar *user,
		 const gchar *token_path,
		 gchar **summary,
		 GError **error)
{
	g_autofree gchar *map = g_build_filename(config_dir, MO_POSTFIX_SASL_PASSWD, NULL);
	g_autofree gchar *hash_map = g_strdup_printf("hash:%s", map);
	g_autofree gchar *bindir = g_path_get_dirname(postconf);
	g_autofree gchar *postmap = g_build_filename(bindir, "postmap", NULL);
	g_autofree gchar *value = g_strdup_printf("%s:%s", user, token_path);
	g_autofree gchar *backup = NULL;
	g_autofree gchar *set_relay = g_strdup_printf("relayhost=%s", relay);
	g_autofree gchar *set_maps = g_strdup_printf("smtp_sasl_password_maps=%s", hash_map);
	const gchar *postmap_argv[] = {postmap, "-c", config_dir, hash_map, NULL};
	const gchar *postconf_argv[] = {postconf,
					"-c",
					config_dir,
					"-e",
					set_relay,
					"smtp_sasl_auth_enable=yes",
					set_maps,
					"smtp_sasl_security_options=noanonymous",
					"smtp_sasl_mechanism_filter=xoauth2",
					"smtp_tls_security_level=encrypt",
					NULL};

	g_return_val_if_fail(error == NULL || *error == NULL, FALSE);

	if (!mo_postfix_relay_is_valid(relay, error))
		return FALSE;
	backup = mo_postfix_backup(config_dir, error);
	if (backup == NULL || !mo_postfix_write_map(map, relay, value, error) ||
	    !mo_postfix_run(postmap_argv, error) || !mo_postfix_run(postconf_argv, error))
		return FALSE;
	*summary = g_strdup_printf(_("Backed up main.cf to %s; %s now has “%s %s”; ran postmap "
				     "and postconf -e (relayhost = %s, smtp_sasl_auth_enable, "
				     "smtp_sasl_password_maps, smtp_sasl_security_options, "
				     "smtp_sasl_mechanism_filter, smtp_tls_security_level). "
				     "Run “postfix reload” to use them.\n"),
				   backup,
				   map,
				   relay,
				   value,
				   relay);
	/* success */
	return TRUE;
}
