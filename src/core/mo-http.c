/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <glib/gi18n-lib.h>
#include <glib/gstdio.h>
#include <string.h>

#include "mo-ca.h"
#include "mo-curl.h"
#include "mo-error.h"
#include "mo-http.h"
#include "mo-json.h"
#include "mo-provider.h"
#include "mo-secure.h"

#define MO_HTTP_USER_AGENT "mailoauth/" PACKAGE_VERSION
/* libcurl's own receive buffer size (CURL_MAX_WRITE_SIZE): one block for most answers */
#define MO_HTTP_BODY_FIRST_SIZE 16384

/* application/x-www-form-urlencoded from NULL-terminated key, value pairs. Everything but
 * RFC 3986 unreserved characters is escaped, so a secret holding + & = % arrives intact. */
gchar *
mo_http_form_encode(const gchar *const *pairs)
{
	GString *form = g_string_new(NULL);

	for (guint i = 0; pairs[i] != NULL && pairs[i + 1] != NULL; i += 2) {
		g_autofree gchar *key = g_uri_escape_string(pairs[i], NULL, FALSE);
		mo_autosecret gchar *value = g_uri_escape_string(pairs[i + 1], NULL, FALSE);
		if (form->len > 0)
			g_string_append_c(form, '&');
		g_string_append(form, key);
		g_string_append_c(form, '=');
		g_string_append(form, value);
	}
	return g_string_free(form, FALSE);
}

gboolean
mo_http_status_is_transient(guint status)
{
	return status == 408 || status == 429 || (status >= 500 && status <= 599);
}

void
mo_http_response_free(MoHttpResponse *response)
{
	if (response == NULL)
		return;
	mo_secure_wipe(response->body, response->body_len);
	g_free(response->body);
	g_free(response);
}

/* The body as it arrives, in memory of our own: grown by our own code, which wipes each block
 * it leaves (realloc() would hand copies of the tokens back to malloc unwiped), and wiped when
 * cleared. Most answers fit the first block. */
typedef struct {
	guint8 *data;
	gsize len;
	gsize size; /* allocated; more than len while data is not NULL, for the final NUL */
} MoHttpBody;

static void
mo_http_body_clear(MoHttpBody *body)
{
	mo_secure_wipe(body->data, body->len);
	g_clear_pointer(&body->data, g_free);
	body->len = 0;
	body->size = 0;
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(MoHttpBody, mo_http_body_clear)

static void
mo_http_body_grow(MoHttpBody *body, gsize needed)
{
	gsize size = MAX(body->size, MO_HTTP_BODY_FIRST_SIZE);
	guint8 *grown;

	while (size < needed)
		size *= 2;
	/* needed is never more than this (mo_http_body_append()) */
	size = MIN(size, (gsize)MO_JSON_MAX_SIZE + 1);
	grown = g_malloc(size);
	if (body->len > 0)
		memcpy(grown, body->data, body->len);
	mo_secure_wipe(body->data, body->len);
	g_free(body->data);
	body->data = grown;
	body->size = size;
}

/* FALSE when the body would grow beyond MO_JSON_MAX_SIZE: a token response is small, anything
 * larger is not one. */
static gboolean
mo_http_body_append(MoHttpBody *body, const guint8 *data, gsize len)
{
	if (len > MO_JSON_MAX_SIZE - body->len)
		return FALSE;
	if (body->len + len + 1 > body->size)
		mo_http_body_grow(body, body->len + len + 1);
	memcpy(body->data + body->len, data, len);
	body->len += len;
	return TRUE;
}

static size_t
mo_http_write_cb(char *data, size_t size, size_t nmemb, void *user_data)
{
	/* libcurl documents size as always 1 */
	gsize len = size * nmemb;

	if (!mo_http_body_append(user_data, (const guint8 *)data, len))
		return 0;
	return len;
}

static gint64
mo_http_get_retry_after(const MoCurl *c, CURL *curl)
{
	struct curl_header *header = NULL;
	gchar *end = NULL;
	gint64 value;

	if (c->easy_header(curl, "Retry-After", 0, CURLH_HEADER, -1, &header) != CURLHE_OK)
		return -1;
	/* only the delta-seconds form; an HTTP date is rare on token endpoints */
	value = g_ascii_strtoll(header->value, &end, 10);
	if (end == header->value || value < 0)
		return -1;
	return value;
}

/* The CA to verify with: the given file or directory when it can be read, libcurl's default
 * when it can; else the bundle read before postfix's smtp client entered its chroot. */
static void
mo_http_set_ca(const MoCurl *c, CURL *curl, const MoHttpOptions *options)
{
	const curl_version_info_data *info = c->version_info(CURLVERSION_NOW);
	const gchar *file = options->ca_file != NULL ? options->ca_file : info->cainfo;
	GBytes *preloaded = mo_ca_get_preloaded();
	gboolean file_ok = file != NULL && g_access(file, R_OK) == 0;
	gboolean dir_ok =
		options->ca_dir != NULL && g_file_test(options->ca_dir, G_FILE_TEST_IS_DIR);

	if (options->ca_file != NULL && file_ok)
		c->easy_setopt(curl, CURLOPT_CAINFO, options->ca_file);
	if (dir_ok)
		c->easy_setopt(curl, CURLOPT_CAPATH, options->ca_dir);
	if (!file_ok && !dir_ok && preloaded != NULL) {
		struct curl_blob blob = {
			.data = (void *)g_bytes_get_data(preloaded, NULL),
			.len = g_bytes_get_size(preloaded),
			.flags = CURL_BLOB_NOCOPY,
		};
		c->easy_setopt(curl, CURLOPT_CAINFO_BLOB, &blob);
	}
	if (options->proxy != NULL)
		c->easy_setopt(curl, CURLOPT_PROXY, options->proxy);
}

static CURL *
mo_http_new_handle(const MoCurl *c,
		   const gchar *url,
		   const gchar *body,
		   const MoHttpOptions *options,
		   MoHttpBody *buf,
		   struct curl_slist *headers)
{
	CURL *curl = c->easy_init();

	if (curl == NULL)
		return NULL;
	c->easy_setopt(curl, CURLOPT_URL, url);
	c->easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
	c->easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
	c->easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	c->easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 1L);
	c->easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 2L);
	c->easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, (long)options->connect_timeout);
	c->easy_setopt(curl, CURLOPT_TIMEOUT, (long)options->timeout);
	c->easy_setopt(curl, CURLOPT_USERAGENT, MO_HTTP_USER_AGENT);
	mo_http_set_ca(c, curl, options);
	c->easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
	if (body != NULL)
		c->easy_setopt(curl, CURLOPT_POSTFIELDS, body);
	else
		c->easy_setopt(curl, CURLOPT_HTTPGET, 1L);
	c->easy_setopt(curl, CURLOPT_WRITEFUNCTION, mo_http_write_cb);
	c->easy_setopt(curl, CURLOPT_WRITEDATA, buf);
	return curl;
}

static void
mo_http_set_curl_error(const MoCurl *c, CURLcode rc, const gchar *url, GError **error)
{
	if (rc == CURLE_WRITE_ERROR)
		g_set_error(error,
			    MO_ERROR,
			    MO_ERROR_PROTOCOL,
			    _("%s answered with more than %d bytes"),
			    url,
			    MO_JSON_MAX_SIZE);
	else
		g_set_error(error,
			    MO_ERROR,
			    MO_ERROR_TRANSIENT,
			    _("Cannot reach %s: %s"),
			    url,
			    c->easy_strerror(rc));
}

/* Takes the data of @buf. */
static MoHttpResponse *
mo_http_response_new(const MoCurl *c, CURL *curl, MoHttpBody *buf)
{
	MoHttpResponse *response = g_new0(MoHttpResponse, 1);
	long status = 0;

	c->easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
	response->status = (guint)status;
	response->retry_after = mo_http_get_retry_after(c, curl);
	if (buf->data == NULL)
		mo_http_body_grow(buf, 1);
	/* mo_http_body_append() kept room for it */
	buf->data[buf->len] = '\0';
	response->body_len = buf->len;
	response->body = (gchar *)g_steal_pointer(&buf->data);
	buf->len = 0;
	buf->size = 0;
	return response;
}

/* One request (POST with @body, else GET), no retries. Network failures are MO_ERROR_TRANSIENT;
 * any HTTP status is a response for the caller to classify. Messages never carry the body. */
static MoHttpResponse *
mo_http_perform(const gchar *url, const gchar *body, const MoHttpOptions *options, GError **error)
{
	g_auto(MoHttpBody) buf = {NULL};
	struct curl_slist *headers = NULL;
	MoHttpResponse *response;
	const MoCurl *c;
	CURL *curl;
	CURLcode rc;

	g_return_val_if_fail(error == NULL || *error == NULL, NULL);

	if (!mo_url_check_endpoint(url, error))
		return NULL;
	c = mo_curl_get(error);
	if (c == NULL)
		return NULL;
	headers = c->slist_append(headers, "Accept: application/json");
	curl = mo_http_new_handle(c, url, body, options, &buf, headers);
	if (curl == NULL) {
		c->slist_free_all(headers);
		g_set_error(error, MO_ERROR, MO_ERROR_FAILED, _("Cannot initialise libcurl"));
		return NULL;
	}
	rc = c->easy_perform(curl);
	c->slist_free_all(headers);
	if (rc != CURLE_OK) {
		/* what arrived is wiped with buf */
		mo_http_set_curl_error(c, rc, url, error);
		c->easy_cleanup(curl);
		return NULL;
	}
	response = mo_http_response_new(c, curl, &buf);
	c->easy_cleanup(curl);
	return response;
}

MoHttpResponse *
mo_http_post_form(const gchar *url,
		  const gchar *const *pairs,
		  const MoHttpOptions *options,
		  GError **error)
{
	mo_autosecret gchar *body = NULL;

	g_return_val_if_fail(error == NULL || *error == NULL, NULL);

	body = mo_http_form_encode(pairs);
	return mo_http_perform(url, body, options, error);
}

/* A GET, for discovery documents. */
MoHttpResponse *
mo_http_get(const gchar *url, const MoHttpOptions *options, GError **error)
{
	g_return_val_if_fail(error == NULL || *error == NULL, NULL);
	return mo_http_perform(url, NULL, options, error);
}
