/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <dlfcn.h>
#include <glib/gi18n.h>
#include <sasl/sasl.h>
#include <sasl/saslplug.h>

#include "mo-cli-sasl.h"
#include "mo-error.h"

/* Which SASL client plugins this machine's libsasl2 offers for a mechanism, in the order it
 * keeps them: libsasl2 2.1.28 sorts same-named mechanisms by mech_compare() (security flags,
 * then max SSF) and keeps ties in load order, and sasl_client_start() takes the first that
 * fits — so the first listed is the one a mail program gets. Asked of libsasl2 itself, with
 * the SASL_PATH of this process (as mbsync and postfix would see it), never guessed from a
 * directory listing. libsasl2 is loaded only here: "mailoauth token" must not pay for it. */

#define MO_CLI_SASL_SONAME "libsasl2.so.2"

typedef struct {
	int (*client_init)(const sasl_callback_t *callbacks);
	int (*client_plugin_info)(const char *mech_list,
				  sasl_client_info_callback_t *info_cb,
				  void *info_cb_rock);
	void (*done)(void);
} MoCliSasl;

void
mo_cli_sasl_plugin_free(MoCliSaslPlugin *plugin)
{
	if (plugin == NULL)
		return;
	g_free(plugin->name);
	g_free(plugin->mech);
	g_free(plugin);
}

static void
mo_cli_sasl_info_cb(client_sasl_mechanism_t *m, sasl_info_callback_stage_t stage, void *rock)
{
	GPtrArray *plugins = rock;
	MoCliSaslPlugin *plugin;

	if (stage != SASL_INFO_LIST_MECH || m == NULL || m->plug == NULL)
		return;
	plugin = g_new0(MoCliSaslPlugin, 1);
	plugin->name = g_strdup(m->plugname != NULL ? m->plugname : "?");
	plugin->mech = g_strdup(m->plug->mech_name);
	plugin->max_ssf = m->plug->max_ssf;
	plugin->security_flags = m->plug->security_flags;
	g_ptr_array_add(plugins, plugin);
}

static gboolean
mo_cli_sasl_load(MoCliSasl *sasl, GError **error)
{
	void *handle = dlopen(MO_CLI_SASL_SONAME, RTLD_NOW | RTLD_LOCAL);

	if (handle == NULL) {
		g_set_error(error,
			    MO_ERROR,
			    MO_ERROR_FAILED,
			    _("Cannot load libsasl2 (%s): %s"),
			    MO_CLI_SASL_SONAME,
			    dlerror());
		return FALSE;
	}
	*(void **)&sasl->client_init = dlsym(handle, "sasl_client_init");
	*(void **)&sasl->client_plugin_info = dlsym(handle, "sasl_client_plugin_info");
	*(void **)&sasl->done = dlsym(handle, "sasl_done");
	if (sasl->client_init == NULL || sasl->client_plugin_info == NULL || sasl->done == NULL) {
		g_set_error(error,
			    MO_ERROR,
			    MO_ERROR_FAILED,
			    _("%s lacks sasl_client_plugin_info"),
			    MO_CLI_SASL_SONAME);
		return FALSE;
	}
	return TRUE;
}

/**
 * mo_cli_sasl_list_plugins:
 * @mechs: space-separated mechanism names
 * @error: a #GError, or %NULL
 *
 * Returns: (transfer full) (element-type MoCliSaslPlugin): the client plugins offering
 * @mechs, in libsasl2's order (for each mechanism, the one it uses first), or %NULL
 */
GPtrArray *
mo_cli_sasl_list_plugins(const gchar *mechs, GError **error)
{
	g_autoptr(GPtrArray) plugins =
		g_ptr_array_new_with_free_func((GDestroyNotify)mo_cli_sasl_plugin_free);
	MoCliSasl sasl = {NULL};
	int result;

	g_return_val_if_fail(error == NULL || *error == NULL, NULL);

	if (!mo_cli_sasl_load(&sasl, error))
		return NULL;
	result = sasl.client_init(NULL);
	if (result != SASL_OK) {
		g_set_error(error,
			    MO_ERROR,
			    MO_ERROR_FAILED,
			    _("libsasl2 cannot start (sasl_client_init: %d)"),
			    result);
		return NULL;
	}
	/* SASL_NOMECH: no plugin offers any of them, which is an answer too */
	sasl.client_plugin_info(mechs, mo_cli_sasl_info_cb, plugins);
	sasl.done();
	return g_steal_pointer(&plugins);
}
