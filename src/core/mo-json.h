/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/* Largest JSON document we accept from a file, the keyring or a provider. */
#define MO_JSON_MAX_SIZE (256 * 1024)

JsonObject *mo_json_parse_object(const gchar *data, gssize len, const gchar *what, GError **error);
gboolean mo_json_get_string(JsonObject *obj,
			    const gchar *member,
			    gchar **out,
			    const gchar *what,
			    GError **error);
gboolean mo_json_get_int64(JsonObject *obj,
			   const gchar *member,
			   gint64 *out,
			   const gchar *what,
			   GError **error);
void mo_json_set_string(JsonObject *obj, const gchar *member, const gchar *value);
void mo_json_set_int64(JsonObject *obj, const gchar *member, gint64 value);
gchar *mo_json_to_string(JsonObject *obj, gboolean pretty);

G_END_DECLS

G_BEGIN_DECLS
gboolean
mo_json_check_version(JsonObject *obj, gint64 supported, const gchar *what, GError **error);
G_END_DECLS
