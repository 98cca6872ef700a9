/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <glib/gi18n-lib.h>
#include <string.h>

#include "mo-config.h"
#include "mo-error.h"
#include "mo-token.h"

#define MO_CONFIG_GROUP	      "mailoauth"
#define MO_CONFIG_MAX_SECONDS (24 * 3600)

void
mo_config_init_defaults(MoConfig *config)
{
	config->refresh_margin = MO_DEFAULT_REFRESH_MARGIN;
	config->keyring_timeout = MO_DEFAULT_KEYRING_TIMEOUT;
	config->http.connect_timeout = MO_HTTP_DEFAULT_CONNECT_TIMEOUT;
	config->http.timeout = MO_HTTP_DEFAULT_TIMEOUT;
}

gchar *
mo_config_default_path(void)
{
	return g_build_filename(g_get_user_config_dir(), "mailoauth", "mailoauth.conf", NULL);
}

/* An absent key keeps the default; a present but wrong one is an error naming it. */
static gboolean
mo_config_read_seconds(GKeyFile *kf,
		       const gchar *path,
		       const gchar *key,
		       gint64 min,
		       gint64 *value,
		       GError **error)
{
	g_autoptr(GError) error_local = NULL;
	gint64 v;

	if (!g_key_file_has_key(kf, MO_CONFIG_GROUP, key, NULL))
		return TRUE;
	v = g_key_file_get_int64(kf, MO_CONFIG_GROUP, key, &error_local);
	if (error_local != NULL) {
		g_autofree gchar *raw = g_key_file_get_value(kf, MO_CONFIG_GROUP, key, NULL);
		/* the trap of INI files elsewhere: "600  # seconds" is the value here */
		if (raw != NULL && strchr(raw, '#') != NULL) {
			g_set_error(error,
				    MO_ERROR,
				    MO_ERROR_INVALID_DATA,
				    _("In %s, %s has a comment after its value; a comment must "
				      "have a line of its own"),
				    path,
				    key);
			return FALSE;
		}
	}
	if (error_local != NULL || v < min || v > MO_CONFIG_MAX_SECONDS) {
		g_set_error(error,
			    MO_ERROR,
			    MO_ERROR_INVALID_DATA,
			    _("In %s, %s must be a number of seconds from %lld to %d"),
			    path,
			    key,
			    (long long)min,
			    MO_CONFIG_MAX_SECONDS);
		return FALSE;
	}
	*value = v;
	return TRUE;
}

static const gchar *const mo_config_keys[] = {
	"refresh-margin",
	"keyring-timeout",
	"http-connect-timeout",
	"http-timeout",
	NULL,
};

/**
 * mo_config_unknown:
 * @path: the settings file
 *
 * Groups and keys of @path that mailoauth does not know: a misspelt key (refresh_margin)
 * would otherwise be ignored without a word.
 *
 * Returns: (transfer full): "group" or "group.key" names; empty when all are known or the
 * file cannot be read
 */
GStrv
mo_config_unknown(const gchar *path)
{
	g_autoptr(GKeyFile) kf = g_key_file_new();
	g_autoptr(GStrvBuilder) unknown = g_strv_builder_new();
	g_auto(GStrv) groups = NULL;

	if (!g_key_file_load_from_file(kf, path, G_KEY_FILE_NONE, NULL))
		return g_strv_builder_end(unknown);
	groups = g_key_file_get_groups(kf, NULL);
	for (guint i = 0; groups[i] != NULL; i++) {
		g_auto(GStrv) keys = NULL;
		if (g_strcmp0(groups[i], MO_CONFIG_GROUP) != 0) {
			g_strv_builder_add(unknown, groups[i]);
			continue;
		}
		keys = g_key_file_get_keys(kf, groups[i], NULL, NULL);
		for (guint j = 0; keys != NULL && keys[j] != NULL; j++) {
			g_autofree gchar *name = g_strdup_printf("%s.%s", groups[i], keys[j]);
			if (!g_strv_contains(mo_config_keys, keys[j]))
				g_strv_builder_add(unknown, name);
		}
	}
	return g_strv_builder_end(unknown);
}

/* A missing file is not an error: every setting has a default. */
gboolean
mo_config_load(MoConfig *config, const gchar *path, GError **error)
{
	g_autoptr(GKeyFile) kf = g_key_file_new();
	g_autoptr(GError) error_local = NULL;
	gint64 refresh_margin = config->refresh_margin;
	gint64 keyring_timeout = config->keyring_timeout;
	gint64 connect_timeout = config->http.connect_timeout;
	gint64 timeout = config->http.timeout;

	if (!g_key_file_load_from_file(kf, path, G_KEY_FILE_NONE, &error_local)) {
		if (g_error_matches(error_local, G_FILE_ERROR, G_FILE_ERROR_NOENT))
			return TRUE;
		g_set_error(error,
			    MO_ERROR,
			    MO_ERROR_INVALID_DATA,
			    _("Cannot read %s: %s"),
			    path,
			    error_local->message);
		return FALSE;
	}
	if (!mo_config_read_seconds(kf, path, "refresh-margin", 0, &refresh_margin, error) ||
	    !mo_config_read_seconds(kf, path, "keyring-timeout", 1, &keyring_timeout, error) ||
	    !mo_config_read_seconds(kf, path, "http-connect-timeout", 1, &connect_timeout, error) ||
	    !mo_config_read_seconds(kf, path, "http-timeout", 1, &timeout, error))
		return FALSE;
	config->refresh_margin = refresh_margin;
	config->keyring_timeout = (guint)keyring_timeout;
	config->http.connect_timeout = (guint)connect_timeout;
	config->http.timeout = (guint)timeout;
	return TRUE;
}
