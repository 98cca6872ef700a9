/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <glib/gi18n-lib.h>

#include "mo-curl.h"
#include "mo-error.h"

#ifdef MO_CURL_LAZY
#include <dlfcn.h>

#define MO_CURL_SONAME "libcurl.so.4"

static MoCurl mo_curl_table;
static gchar *mo_curl_load_error = NULL;

#define MO_CURL_SYM(field, name)                                                                   \
	(ok = ok && (*(void **)(&mo_curl_table.field) = dlsym(handle, name)) != NULL)

/* Resolves the table once; the library stays loaded for the life of the process. */
static gpointer
mo_curl_load(gpointer data)
{
	void *handle = dlopen(MO_CURL_SONAME, RTLD_NOW | RTLD_LOCAL);
	gboolean ok = handle != NULL;

	MO_CURL_SYM(global_init, "curl_global_init");
	MO_CURL_SYM(easy_init, "curl_easy_init");
	MO_CURL_SYM(easy_setopt, "curl_easy_setopt");
	MO_CURL_SYM(easy_perform, "curl_easy_perform");
	MO_CURL_SYM(easy_getinfo, "curl_easy_getinfo");
	MO_CURL_SYM(easy_cleanup, "curl_easy_cleanup");
	MO_CURL_SYM(easy_strerror, "curl_easy_strerror");
	MO_CURL_SYM(slist_append, "curl_slist_append");
	MO_CURL_SYM(slist_free_all, "curl_slist_free_all");
	MO_CURL_SYM(easy_header, "curl_easy_header");
	MO_CURL_SYM(version_info, "curl_version_info");
	if (!ok) {
		mo_curl_load_error = g_strdup(dlerror());
		return NULL;
	}
	mo_curl_table.global_init(CURL_GLOBAL_DEFAULT);
	return &mo_curl_table;
}
#else
static const MoCurl mo_curl_table = {
	.global_init = curl_global_init,
	.easy_init = curl_easy_init,
	.easy_setopt = curl_easy_setopt,
	.easy_perform = curl_easy_perform,
	.easy_getinfo = curl_easy_getinfo,
	.easy_cleanup = curl_easy_cleanup,
	.easy_strerror = curl_easy_strerror,
	.slist_append = curl_slist_append,
	.slist_free_all = curl_slist_free_all,
	.easy_header = curl_easy_header,
	.version_info = curl_version_info,
};
static const gchar *mo_curl_load_error = NULL;

static gpointer
mo_curl_load(gpointer data)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
	return (gpointer)&mo_curl_table;
}
#endif

/* libcurl, initialised, on first use. */
const MoCurl *
mo_curl_get(GError **error)
{
	static GOnce once = G_ONCE_INIT;
	const MoCurl *curl = g_once(&once, mo_curl_load, NULL);

	if (curl == NULL)
		g_set_error(error,
			    MO_ERROR,
			    MO_ERROR_FAILED,
			    _("Cannot load libcurl: %s"),
			    mo_curl_load_error != NULL ? mo_curl_load_error : "?");
	return curl;
}

static GThread *mo_curl_preloader = NULL;

/**
 * mo_curl_preload_finish:
 *
 * Waits for a preload started by mo_curl_preload(). Call before the process exits: when no
 * request followed (another process refreshed meanwhile), exit() would otherwise run
 * OpenSSL's cleanup while the preloading thread is still initialising it (a crash or a
 * double free at exit, and PassCmd's exit status with it).
 */
void
mo_curl_preload_finish(void)
{
	g_clear_pointer(&mo_curl_preloader, g_thread_join);
}

static gpointer
mo_curl_preload_thread(gpointer data)
{
	mo_curl_get(NULL);
	return NULL;
}

/* Starts loading libcurl in the background, so that it overlaps with the keyring reads
 * that come before the request; mo_curl_get() then waits for it if it is not done. */
void
mo_curl_preload(void)
{
	static gsize started = 0;

	if (g_once_init_enter(&started)) {
		mo_curl_preloader = g_thread_new("mo-curl-preload", mo_curl_preload_thread, NULL);
		g_once_init_leave(&started, 1);
	}
}
