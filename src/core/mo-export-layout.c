/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <errno.h>
#include <glib/gi18n-lib.h>
#include <pwd.h>
#include <string.h>
#include <sys/stat.h>

#include "mo-error.h"
#include "mo-export-layout.h"
#include "mo-export-status.h"
#include "mo-file.h"

/* Most characters of someone else's text quoted in a message: a name, a line of postconf's. */
#define MO_EXPORT_DISPLAY_MAX	       64
#define MO_EXPORT_DISPLAY_POSTCONF_MAX 200

/* postconf runs with nothing of the caller's environment (MAIL_CONFIG, LD_*), answering in C. */
static const gchar *const mo_export_postconf_env[] = {
	"PATH=/usr/sbin:/usr/bin:/sbin:/bin",
	"LC_ALL=C",
	NULL,
};

/**
 * mo_export_layout_default_conf:
 *
 * Returns: the configuration file the export helper reads: /etc/mailoauth/export.conf
 */
const gchar *
mo_export_layout_default_conf(void)
{
	return MO_EXPORT_CONF_DEFAULT;
}

void
mo_export_layout_free(MoExportLayout *layout)
{
	if (layout == NULL)
		return;
	g_free(layout->directory);
	g_free(layout->real_directory);
	g_free(layout->status_directory);
	g_free(layout->queue_directory);
	g_free(layout->mail_owner);
	g_free(layout->postfix_config);
	g_free(layout);
}

/* Text that was refused may hold anything: valid UTF-8, no control characters, not too long. */
static gchar *
mo_export_display_max(const gchar *text, guint max)
{
	g_autofree gchar *valid = g_utf8_make_valid(text != NULL ? text : "", -1);
	GString *out = g_string_new(NULL);
	guint n = 0;

	for (const gchar *p = valid; *p != '\0'; p = g_utf8_next_char(p), n++) {
		gunichar c = g_utf8_get_char(p);
		if (n == max) {
			g_string_append(out, "…");
			break;
		}
		if (g_unichar_iscntrl(c))
			g_string_append_c(out, '?');
		else
			g_string_append_unichar(out, c);
	}
	return g_string_free(out, FALSE);
}

static gchar *
mo_export_display(const gchar *text)
{
	return mo_export_display_max(text, MO_EXPORT_DISPLAY_MAX);
}

/**
 * mo_export_name_is_valid:
 * @account: (nullable): an account name
 * @error: (nullable): return location for a #GError
 *
 * An exported account's name becomes a file name in a directory that root writes to: stricter
 * than mo_account_name_is_valid(), ASCII letters, digits and . _ @ + - = only, 1 to
 * %MO_EXPORT_NAME_MAX bytes, not starting with . or - and without "..".
 *
 * Returns: %TRUE if @account can be exported
 */
gboolean
mo_export_name_is_valid(const gchar *account, GError **error)
{
	gsize len = account != NULL ? strlen(account) : 0;
	gboolean ok = len > 0 && len <= MO_EXPORT_NAME_MAX && account[0] != '.' &&
		      account[0] != '-' && strstr(account, "..") == NULL;

	g_return_val_if_fail(error == NULL || *error == NULL, FALSE);

	for (gsize i = 0; ok && i < len; i++)
		ok = g_ascii_isalnum(account[i]) || strchr("._@+-=", account[i]) != NULL;
	if (!ok) {
		g_autofree gchar *display = mo_export_display(account);
		g_set_error(error,
			    MO_ERROR,
			    MO_ERROR_INVALID_ARGUMENT,
			    _("“%s” cannot be exported: the name of an exported account is a file "
			      "name of 1 to %d ASCII letters, digits and . _ @ + - = (not starting "
			      "with . or -, no ..)"),
			    display,
			    MO_EXPORT_NAME_MAX);
	}
	return ok;
}

/* An absolute path as a person writes it: no empty, . or .. component, no trailing slash, and
 * nothing that would break a sasl_passwd line or a printed key=value line. */
static gboolean
mo_export_path_is_clean(const gchar *path)
{
	g_auto(GStrv) parts = NULL;

	if (path == NULL || path[0] != '/' || path[1] == '\0' || !g_utf8_validate(path, -1, NULL))
		return FALSE;
	for (const gchar *p = path; *p != '\0'; p++) {
		if ((guchar)*p <= 0x20 || (guchar)*p == 0x7f)
			return FALSE;
	}
	parts = g_strsplit(path + 1, "/", -1);
	for (guint i = 0; parts[i] != NULL; i++) {
		if (parts[i][0] == '\0' || g_strcmp0(parts[i], ".") == 0 ||
		    g_strcmp0(parts[i], "..") == 0)
			return FALSE;
	}
	return TRUE;
}

/* The file, if there is one (*data NULL otherwise): root's alone, since it decides where root
 * writes and whom it gives the files to. */
static gboolean
mo_export_conf_read(const gchar *conf_path, gchar **data, gsize *len, GError **error)
{
	struct stat st;

	*data = NULL;
	if (lstat(conf_path, &st) != 0 && errno == ENOENT) {
		/* no file: the defaults */
		return TRUE;
	}
	*data = mo_file_read_secret(conf_path, MO_EXPORT_CONF_MAX_SIZE, len, &st, error);
	if (*data == NULL)
		return FALSE;
	if (st.st_uid != 0 || (st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
		g_clear_pointer(data, g_free);
		g_set_error(error,
			    MO_ERROR,
			    MO_ERROR_INVALID_DATA,
			    _("%s must be owned by root and writable by root only; it is owned by "
			      "uid %u and has mode %04o"),
			    conf_path,
			    (guint)st.st_uid,
			    (guint)(st.st_mode & 07777));
		return FALSE;
	}
	return TRUE;
}

/* Only [export] directory= and postfix-config=: a typo must not silently mean a default. */
static gboolean
mo_export_conf_check_names(GKeyFile *kf, const gchar *conf_path, GError **error)
{
	g_auto(GStrv) groups = g_key_file_get_groups(kf, NULL);
	g_auto(GStrv) keys = NULL;

	for (guint i = 0; groups[i] != NULL; i++) {
		g_autofree gchar *display = NULL;
		if (g_strcmp0(groups[i], MO_EXPORT_CONF_GROUP) == 0)
			continue;
		display = mo_export_display(groups[i]);
		g_set_error(error,
			    MO_ERROR,
			    MO_ERROR_INVALID_DATA,
			    _("%s: unknown group [%s]; only [%s] is read"),
			    conf_path,
			    display,
			    MO_EXPORT_CONF_GROUP);
		return FALSE;
	}
	keys = g_key_file_get_keys(kf, MO_EXPORT_CONF_GROUP, NULL, NULL);
	for (guint i = 0; keys != NULL && keys[i] != NULL; i++) {
		g_autofree gchar *display = NULL;
		if (g_strcmp0(keys[i], "directory") == 0 ||
		    g_strcmp0(keys[i], "postfix-config") == 0)
			continue;
		display = mo_export_display(keys[i]);
		g_set_error(error,
			    MO_ERROR,
			    MO_ERROR_INVALID_DATA,
			    _("%s: unknown key “%s”; the keys are directory and postfix-config"),
			    conf_path,
			    display);
		return FALSE;
	}
	return TRUE;
}

/* Replaces *@value when the file sets @key. */
static gboolean
mo_export_conf_get_path(GKeyFile *kf,
			const gchar *conf_path,
			const gchar *key,
			gchar **value,
			GError **error)
{
	g_autofree gchar *path = NULL;
	g_autofree gchar *display = NULL;

	if (!g_key_file_has_key(kf, MO_EXPORT_CONF_GROUP, key, NULL))
		return TRUE;
	path = g_key_file_get_string(kf, MO_EXPORT_CONF_GROUP, key, NULL);
	if (mo_export_path_is_clean(path)) {
		g_free(*value);
		*value = g_steal_pointer(&path);
		return TRUE;
	}
	display = mo_export_display(path);
	g_set_error(error,
		    MO_ERROR,
		    MO_ERROR_INVALID_DATA,
		    _("%s: %s=%s is not an absolute path without . or .. components, spaces or "
		      "control characters"),
		    conf_path,
		    key,
		    display);
	return FALSE;
}

static gboolean
mo_export_conf_parse(MoExportLayout *layout,
		     const gchar *conf_path,
		     const gchar *data,
		     gsize len,
		     GError **error)
{
	g_autoptr(GKeyFile) kf = g_key_file_new();
	g_autoptr(GError) error_local = NULL;

	/* translations kept, so that a stray directory[de]= is seen, not silently dropped */
	if (!g_key_file_load_from_data(kf, data, len, G_KEY_FILE_KEEP_TRANSLATIONS, &error_local)) {
		g_set_error(error,
			    MO_ERROR,
			    MO_ERROR_INVALID_DATA,
			    _("Cannot read %s: %s"),
			    conf_path,
			    error_local->message);
		return FALSE;
	}
	return mo_export_conf_check_names(kf, conf_path, error) &&
	       mo_export_conf_get_path(kf, conf_path, "directory", &layout->directory, error) &&
	       mo_export_conf_get_path(kf,
				       conf_path,
				       "postfix-config",
				       &layout->postfix_config,
				       error);
}

/* What went wrong, in one line: postconf's first line on stderr, or why it did not run. */
static gchar *
mo_export_postconf_detail(const gchar *stderr_text, const GError *error)
{
	g_auto(GStrv) lines = NULL;

	if (stderr_text == NULL || stderr_text[0] == '\0')
		return mo_export_display_max(error != NULL ? error->message : _("no answer"),
					     MO_EXPORT_DISPLAY_POSTCONF_MAX);
	lines = g_strsplit(stderr_text, "\n", 2);
	return mo_export_display_max(lines[0], MO_EXPORT_DISPLAY_POSTCONF_MAX);
}

/* postconf without a main.cf sleeps a second before it fails (as every postfix program does
 * before a fatal error), which "mailoauth status" would pay on every machine without postfix:
 * ask only where there is a configuration to ask about. */
static gboolean
mo_export_postconf_has_config(const gchar *postconf, const gchar *config_dir, GError **error)
{
	g_autofree gchar *main_cf = g_build_filename(config_dir, "main.cf", NULL);

	/* (a postconf given by the caller, the unit tests', has no such pause) */
	if (g_strcmp0(postconf, MO_EXPORT_POSTCONF_DEFAULT) != 0 ||
	    g_file_test(main_cf, G_FILE_TEST_IS_REGULAR))
		return TRUE;
	g_set_error(error,
		    MO_ERROR,
		    MO_ERROR_FAILED,
		    _("Cannot ask postfix where it keeps its files (%s -c %s): there is no %s; "
		      "is postfix installed and configured?"),
		    postconf,
		    config_dir,
		    main_cf);
	return FALSE;
}

/* Runs postconf -c CONFIG_DIR QUERY… (no shell) and returns what it printed. */
static gchar *
mo_export_postconf_run(const gchar *postconf,
		       const gchar *config_dir,
		       const gchar *const *query,
		       GError **error)
{
	g_autoptr(GPtrArray) argv = g_ptr_array_new();
	g_autoptr(GError) error_local = NULL;
	g_autofree gchar *out = NULL;
	g_autofree gchar *err = NULL;
	gint status = 0;

	g_ptr_array_add(argv, (gpointer)postconf);
	g_ptr_array_add(argv, (gpointer) "-c");
	g_ptr_array_add(argv, (gpointer)config_dir);
	for (guint i = 0; query[i] != NULL; i++)
		g_ptr_array_add(argv, (gpointer)query[i]);
	g_ptr_array_add(argv, NULL);
	if (!g_spawn_sync(NULL,
			  (gchar **)argv->pdata,
			  (gchar **)mo_export_postconf_env,
			  G_SPAWN_STDIN_FROM_DEV_NULL | G_SPAWN_CLOEXEC_PIPES,
			  NULL,
			  NULL,
			  &out,
			  &err,
			  &status,
			  &error_local) ||
	    !g_spawn_check_wait_status(status, &error_local)) {
		g_autofree gchar *detail = mo_export_postconf_detail(err, error_local);
		g_set_error(error,
			    MO_ERROR,
			    MO_ERROR_FAILED,
			    _("Cannot ask postfix where it keeps its files (%s -c %s): %s"),
			    postconf,
			    config_dir,
			    detail);
		return NULL;
	}
	return g_steal_pointer(&out);
}

static gboolean
mo_export_layout_ask_queue(MoExportLayout *layout, const gchar *postconf, GError **error)
{
	const gchar *const query[] = {"-h", "queue_directory", "mail_owner", NULL};
	g_autofree gchar *out = NULL;
	g_auto(GStrv) lines = NULL;

	if (!mo_export_postconf_has_config(postconf, layout->postfix_config, error))
		return FALSE;
	out = mo_export_postconf_run(postconf, layout->postfix_config, query, error);

	if (out == NULL)
		return FALSE;
	lines = g_strsplit(g_strchomp(out), "\n", -1);
	if (g_strv_length(lines) != 2 || !mo_export_path_is_clean(lines[0]) ||
	    lines[1][0] == '\0') {
		g_set_error(error,
			    MO_ERROR,
			    MO_ERROR_INVALID_DATA,
			    _("postconf -c %s gave no usable queue_directory and mail_owner"),
			    layout->postfix_config);
		return FALSE;
	}
	layout->queue_directory = g_strdup(lines[0]);
	layout->mail_owner = g_strdup(lines[1]);
	return TRUE;
}

/* master.cf column 5 of the smtp client: y, n, or - (no, since postfix 3.0). */
static gboolean
mo_export_layout_ask_chroot(MoExportLayout *layout, const gchar *postconf, GError **error)
{
	const gchar *const query[] = {"-Fh", "smtp/unix/chroot", NULL};
	g_autofree gchar *out =
		mo_export_postconf_run(postconf, layout->postfix_config, query, error);
	g_autofree gchar *display = NULL;
	const gchar *value;

	if (out == NULL)
		return FALSE;
	value = g_strstrip(out);
	if (g_strcmp0(value, "y") == 0 || g_strcmp0(value, "yes") == 0) {
		layout->chrooted = TRUE;
		return TRUE;
	}
	if (g_strcmp0(value, "n") == 0 || g_strcmp0(value, "no") == 0 ||
	    g_strcmp0(value, "-") == 0) {
		layout->chrooted = FALSE;
		return TRUE;
	}
	display = mo_export_display(value);
	g_set_error(error,
		    MO_ERROR,
		    MO_ERROR_INVALID_DATA,
		    _("postconf -c %s: the smtp/unix service's chroot is “%s”, not y, n or -; "
		      "is there an smtp unix line in master.cf?"),
		    layout->postfix_config,
		    display);
	return FALSE;
}

static gboolean
mo_export_layout_find_owner(MoExportLayout *layout, GError **error)
{
	struct passwd *pw = getpwnam(layout->mail_owner);

	if (pw == NULL) {
		g_autofree gchar *display = mo_export_display(layout->mail_owner);
		g_set_error(error,
			    MO_ERROR,
			    MO_ERROR_INVALID_DATA,
			    _("postfix's mail_owner “%s” (postconf -c %s) is not a user here"),
			    display,
			    layout->postfix_config);
		return FALSE;
	}
	layout->uid = pw->pw_uid;
	layout->gid = pw->pw_gid;
	return TRUE;
}

/* A chrooted smtp client opens /etc/sasl-tokens/X as QUEUE/etc/sasl-tokens/X. */
static void
mo_export_layout_compose(MoExportLayout *layout)
{
	if (layout->chrooted)
		layout->real_directory =
			g_build_filename(layout->queue_directory, layout->directory, NULL);
	else
		layout->real_directory = g_strdup(layout->directory);
	layout->status_directory =
		g_strconcat(layout->real_directory, MO_EXPORT_STATUS_SUFFIX, NULL);
}

/**
 * mo_export_layout_load_full:
 * @conf_path: (nullable): the configuration file; %NULL for the default
 * @postconf: (nullable): an absolute path to postconf; %NULL for /usr/sbin/postconf
 * @error: (nullable): return location for a #GError
 *
 * Reads the export configuration (a missing file means the defaults; a file present must be
 * root's, writable by root only, with known keys) and asks postfix, through postconf, for its
 * queue directory, mail owner and whether its smtp client runs chrooted.
 *
 * Returns: (transfer full): the layout, or %NULL with @error set
 */
MoExportLayout *
mo_export_layout_load_full(const gchar *conf_path, const gchar *postconf, GError **error)
{
	g_autoptr(MoExportLayout) layout = NULL;
	g_autofree gchar *data = NULL;
	gsize len = 0;

	g_return_val_if_fail(error == NULL || *error == NULL, NULL);

	if (conf_path == NULL)
		conf_path = MO_EXPORT_CONF_DEFAULT;
	if (postconf == NULL)
		postconf = MO_EXPORT_POSTCONF_DEFAULT;
	if (!g_path_is_absolute(postconf)) {
		g_set_error(error,
			    MO_ERROR,
			    MO_ERROR_INVALID_ARGUMENT,
			    _("postconf must be given by an absolute path, not “%s”"),
			    postconf);
		return NULL;
	}
	layout = g_new0(MoExportLayout, 1);
	layout->directory = g_strdup(MO_EXPORT_DIRECTORY_DEFAULT);
	layout->postfix_config = g_strdup(MO_EXPORT_POSTFIX_CONFIG_DEFAULT);
	if (!mo_export_conf_read(conf_path, &data, &len, error))
		return NULL;
	if (data != NULL && !mo_export_conf_parse(layout, conf_path, data, len, error))
		return NULL;
	if (!mo_export_layout_ask_queue(layout, postconf, error) ||
	    !mo_export_layout_ask_chroot(layout, postconf, error) ||
	    !mo_export_layout_find_owner(layout, error))
		return NULL;
	mo_export_layout_compose(layout);

	/* success */
	return g_steal_pointer(&layout);
}

/**
 * mo_export_layout_load:
 * @conf_path: (nullable): the configuration file; %NULL for the default
 * @error: (nullable): return location for a #GError
 *
 * mo_export_layout_load_full() with postfix's own postconf.
 *
 * Returns: (transfer full): the layout, or %NULL with @error set
 */
MoExportLayout *
mo_export_layout_load(const gchar *conf_path, GError **error)
{
	return mo_export_layout_load_full(conf_path, NULL, error);
}

/**
 * mo_export_layout_file:
 * @layout: a layout
 * @account: a valid export name (mo_export_name_is_valid())
 *
 * Returns: (transfer full): where the account's token file is on disk
 */
gchar *
mo_export_layout_file(const MoExportLayout *layout, const gchar *account)
{
	g_return_val_if_fail(layout != NULL, NULL);
	g_return_val_if_fail(account != NULL, NULL);

	return g_build_filename(layout->real_directory, account, NULL);
}

/**
 * mo_export_layout_postfix_path:
 * @layout: a layout
 * @account: a valid export name (mo_export_name_is_valid())
 *
 * Returns: (transfer full): the account's token file as postfix opens it, the password in
 * its sasl_passwd line
 */
gchar *
mo_export_layout_postfix_path(const MoExportLayout *layout, const gchar *account)
{
	g_return_val_if_fail(layout != NULL, NULL);
	g_return_val_if_fail(account != NULL, NULL);

	return g_build_filename(layout->directory, account, NULL);
}
