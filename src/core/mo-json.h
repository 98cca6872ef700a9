/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* A small JSON document model (RFC 8259) of our own. Why not json-glib: it links GIO, and the
 * SASL plugin's token-file path runs inside postfix (no session bus, maybe chrooted), where
 * DESIGN.md forbids loading GIO; json-glib also registers GTypes, which a plugin that libsasl2
 * dlcloses and reloads must not do. Token files, keyring items and provider answers are small
 * flat objects, so the model is small too: values are immutable once built except objects and
 * arrays, objects keep member order (a rewritten token file keeps its layout), numbers keep
 * their text (a rewrite does not change them), and every string is wiped when freed (they
 * hold tokens). */

/* Largest JSON document we accept from a file, the keyring or a provider. */
#define MO_JSON_MAX_SIZE (256 * 1024)
/* Deepest nesting we accept; ours are 1-2 levels deep. */
#define MO_JSON_MAX_DEPTH 32

typedef enum {
	MO_JSON_NULL,
	MO_JSON_BOOLEAN,
	MO_JSON_NUMBER,
	MO_JSON_STRING,
	MO_JSON_ARRAY,
	MO_JSON_OBJECT,
} MoJsonType;

typedef struct _MoJson MoJson;

/* Parsing: the whole input must be one value (whitespace around it allowed); invalid UTF-8,
 * unescaped control characters in strings, duplicate object keys, lone surrogates, leading
 * zeros, trailing garbage, depth or size beyond the limits are errors (MO_ERROR_INVALID_DATA,
 * with the byte offset). */
MoJson *mo_json_parse(const gchar *data, gssize len, GError **error);

MoJson *mo_json_new_null(void);
MoJson *mo_json_new_boolean(gboolean value);
MoJson *mo_json_new_int(gint64 value);
MoJson *mo_json_new_string(const gchar *value); /* valid UTF-8 */
MoJson *mo_json_new_array(void);
MoJson *mo_json_new_object(void);
void mo_json_free(MoJson *value); /* wipes strings, frees children */

MoJsonType mo_json_get_type(const MoJson *value);
gboolean mo_json_get_boolean(const MoJson *value);
const gchar *mo_json_get_string_value(const MoJson *value); /* NULL unless a string */
const gchar *mo_json_get_number_text(const MoJson *value);  /* NULL unless a number */

/* Objects: members in insertion (or document) order. set replaces in place, keeping the
 * position; both take ownership of @value. */
MoJson *mo_json_object_get(const MoJson *object, const gchar *member);
void mo_json_object_set(MoJson *object, const gchar *member, MoJson *value);
void mo_json_object_remove(MoJson *object, const gchar *member);
guint mo_json_object_size(const MoJson *object);

void mo_json_array_add(MoJson *array, MoJson *value);
guint mo_json_array_length(const MoJson *array);
MoJson *mo_json_array_get(const MoJson *array, guint index);

/* Serialization: compact, or pretty with two-space indents. Strings escape " \ and control
 * characters (\n \t … \u00XX); other UTF-8 is written as is. */
gchar *mo_json_serialize(const MoJson *value, gboolean pretty);

/* Helpers for reading our documents; @what names the document in messages ("token file /x",
 * "keyring item of account a@b"). */
MoJson *mo_json_parse_object(const gchar *data, gssize len, const gchar *what, GError **error);
gboolean mo_json_get_string(const MoJson *obj,
			    const gchar *member,
			    gchar **out,
			    const gchar *what,
			    GError **error);
gboolean mo_json_get_int64(const MoJson *obj,
			   const gchar *member,
			   gint64 *out,
			   const gchar *what,
			   GError **error);
gboolean
mo_json_check_version(const MoJson *obj, gint64 supported, const gchar *what, GError **error);
void mo_json_set_string(MoJson *obj, const gchar *member, const gchar *value); /* NULL removes */
void mo_json_set_int64(MoJson *obj, const gchar *member, gint64 value);
gchar *mo_json_to_string(const MoJson *obj, gboolean pretty);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(MoJson, mo_json_free)

G_END_DECLS
