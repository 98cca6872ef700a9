/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <glib/gi18n-lib.h>

#include "mo-ca.h"
#include "mo-curl.h"
#include "mo-error.h"

/* CA certificates in memory, for postfix: its smtp client initialises SASL in pre_init, as
 * root, before chroot(); a refresh inside the chroot then finds no /etc/ssl. The plugin reads
 * the bundle at that moment and libcurl verifies TLS from memory (CURLOPT_CAINFO_BLOB). Only
 * one bundle per process: postfix's smtp has one configuration. */
static GBytes *mo_ca_preloaded = NULL;

static gboolean
mo_ca_append_file(GByteArray *pem, const gchar *path, GError **error)
{
	g_autofree gchar *data = NULL;
	gsize len = 0;

	if (!g_file_get_contents(path, &data, &len, error))
		return FALSE;
	if (pem->len + len > MO_CA_MAX_SIZE) {
		g_set_error(error,
			    MO_ERROR,
			    MO_ERROR_INVALID_DATA,
			    _("The CA certificates in %s are larger than %d bytes"),
			    path,
			    MO_CA_MAX_SIZE);
		return FALSE;
	}
	g_byte_array_append(pem, (const guint8 *)data, (guint)len);
	g_byte_array_append(pem, (const guint8 *)"\n", 1);
	return TRUE;
}

/* The PEM files of a certificate directory (c_rehash's links point at them too, so only
 * *.pem and *.crt are taken), in name order. */
static gboolean
mo_ca_append_dir(GByteArray *pem, const gchar *dir_path, GError **error)
{
	g_autoptr(GDir) dir = g_dir_open(dir_path, 0, error);
	g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
	const gchar *name;

	if (dir == NULL)
		return FALSE;
	while ((name = g_dir_read_name(dir)) != NULL) {
		if (g_str_has_suffix(name, ".pem") || g_str_has_suffix(name, ".crt"))
			g_ptr_array_add(names, g_strdup(name));
	}
	g_ptr_array_sort(names, (GCompareFunc)g_strcmp0);
	for (guint i = 0; i < names->len; i++) {
		g_autofree gchar *path = g_build_filename(dir_path, names->pdata[i], NULL);
		if (g_file_test(path, G_FILE_TEST_IS_REGULAR) &&
		    !mo_ca_append_file(pem, path, error))
			return FALSE;
	}
	return TRUE;
}

/**
 * mo_ca_preload:
 * @ca_file: (nullable): a CA bundle; %NULL: libcurl's default bundle (unless @ca_dir is given)
 * @ca_dir: (nullable): a directory of PEM certificates
 * @error: a #GError, or %NULL
 *
 * Reads the CA certificates into memory for later requests that can no longer read them
 * (after a chroot). Replaces what an earlier call read.
 *
 * Returns: %TRUE on success
 */
gboolean
mo_ca_preload(const gchar *ca_file, const gchar *ca_dir, GError **error)
{
	g_autoptr(GByteArray) pem = g_byte_array_new();
	const MoCurl *c;

	g_return_val_if_fail(error == NULL || *error == NULL, FALSE);

	if (ca_file == NULL && ca_dir == NULL) {
		c = mo_curl_get(error);
		if (c == NULL)
			return FALSE;
		ca_file = c->version_info(CURLVERSION_NOW)->cainfo;
	}
	if (ca_file != NULL && !mo_ca_append_file(pem, ca_file, error))
		return FALSE;
	if (ca_dir != NULL && !mo_ca_append_dir(pem, ca_dir, error))
		return FALSE;
	g_clear_pointer(&mo_ca_preloaded, g_bytes_unref);
	mo_ca_preloaded = g_byte_array_free_to_bytes(g_steal_pointer(&pem));
	/* success */
	return TRUE;
}

/* The bundle read by mo_ca_preload(), or NULL. (transfer none) */
GBytes *
mo_ca_get_preloaded(void)
{
	return mo_ca_preloaded;
}
