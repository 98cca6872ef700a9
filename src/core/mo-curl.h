/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <curl/curl.h>
#include <glib.h>

G_BEGIN_DECLS

/* The libcurl functions mo-http uses, reached through a table. The CLI loads libcurl only
 * when it refreshes (dlopen): libcurl and the ~30 libraries it pulls in (GnuTLS, Kerberos,
 * LDAP, …) cost more at start-up than the keyring read of a fresh "mailoauth token" itself.
 * The SASL plugin links it, because postfix may chroot before a refresh ever happens. */
typedef struct {
	CURLcode (*global_init)(long flags);
	CURL *(*easy_init)(void);
	CURLcode (*easy_setopt)(CURL *curl, CURLoption option, ...);
	CURLcode (*easy_perform)(CURL *curl);
	CURLcode (*easy_getinfo)(CURL *curl, CURLINFO info, ...);
	void (*easy_cleanup)(CURL *curl);
	const char *(*easy_strerror)(CURLcode code);
	struct curl_slist *(*slist_append)(struct curl_slist *list, const char *text);
	void (*slist_free_all)(struct curl_slist *list);
	CURLHcode (*easy_header)(CURL *curl,
				 const char *name,
				 size_t index,
				 unsigned int origin,
				 int request,
				 struct curl_header **hout);
	curl_version_info_data *(*version_info)(CURLversion age);
} MoCurl;

const MoCurl *mo_curl_get(GError **error);
void mo_curl_preload(void);
void mo_curl_preload_finish(void);

G_END_DECLS
