/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <errno.h>
#include <glib/gi18n-lib.h>
#include <string.h>

#include "mo-error.h"
#include "mo-json.h"

/* @what names the document in messages ("token file /x", "keyring item for a@b"). */
JsonObject *
mo_json_parse_object(const gchar *data, gssize len, const gchar *what, GError **error)
{
	g_autoptr(JsonParser) parser = json_parser_new();
	g_autoptr(GError) error_local = NULL;
	JsonNode *root;

	g_return_val_if_fail(error == NULL || *error == NULL, NULL);

	if (len < 0)
		len = data != NULL ? strlen(data) : 0;
	if (len == 0 || len > MO_JSON_MAX_SIZE) {
		g_set_error(error,
			    MO_ERROR,
			    MO_ERROR_INVALID_DATA,
			    _("The %s is empty or too large (%zd bytes)"),
			    what,
			    len);
		return NULL;
	}
	if (!json_parser_load_from_data(parser, data, len, &error_local)) {
		g_set_error(error,
			    MO_ERROR,
			    MO_ERROR_INVALID_DATA,
			    _("The %s is not valid JSON: %s"),
			    what,
			    error_local->message);
		return NULL;
	}
	root = json_parser_get_root(parser);
	if (root == NULL || !JSON_NODE_HOLDS_OBJECT(root)) {
		g_set_error(error,
			    MO_ERROR,
			    MO_ERROR_INVALID_DATA,
			    _("The %s is not a JSON object"),
			    what);
		return NULL;
	}
	return json_object_ref(json_node_get_object(root));
}

/* Absent or null leaves *out NULL; any other non-string is an error. */
gboolean
mo_json_get_string(JsonObject *obj,
		   const gchar *member,
		   gchar **out,
		   const gchar *what,
		   GError **error)
{
	JsonNode *node = json_object_get_member(obj, member);

	*out = NULL;
	if (node == NULL || JSON_NODE_HOLDS_NULL(node))
		return TRUE;
	if (!JSON_NODE_HOLDS_VALUE(node) || json_node_get_value_type(node) != G_TYPE_STRING) {
		g_set_error(error,
			    MO_ERROR,
			    MO_ERROR_INVALID_DATA,
			    _("In the %s, “%s” is not a string"),
			    what,
			    member);
		return FALSE;
	}
	*out = json_node_dup_string(node);
	return TRUE;
}

static gboolean
mo_json_parse_int64_string(const gchar *text, gint64 *out)
{
	gchar *end = NULL;
	gint64 value;

	if (text == NULL || !g_ascii_isdigit(text[0]))
		return FALSE;
	errno = 0;
	value = g_ascii_strtoll(text, &end, 10);
	if (errno != 0 || end == text || *end != '\0')
		return FALSE;
	*out = value;
	return TRUE;
}

/* sasl-xoauth2 writes numbers such as expiry as decimal strings; accept both, 64-bit. Every
 * number we read (times, durations, versions) is a whole number >= 0. Absent or null leaves
 * *out 0. */
gboolean
mo_json_get_int64(JsonObject *obj,
		  const gchar *member,
		  gint64 *out,
		  const gchar *what,
		  GError **error)
{
	JsonNode *node = json_object_get_member(obj, member);
	GType type;

	*out = 0;
	if (node == NULL || JSON_NODE_HOLDS_NULL(node))
		return TRUE;
	type = JSON_NODE_HOLDS_VALUE(node) ? json_node_get_value_type(node) : G_TYPE_INVALID;
	if (type == G_TYPE_INT64 && json_node_get_int(node) >= 0) {
		*out = json_node_get_int(node);
		return TRUE;
	}
	if (type == G_TYPE_DOUBLE) {
		gdouble value = json_node_get_double(node);
		if (value >= 0 && value <= 9.2e18 && value == (gdouble)(gint64)value) {
			*out = (gint64)value;
			return TRUE;
		}
	}
	if (type == G_TYPE_STRING && mo_json_parse_int64_string(json_node_get_string(node), out))
		return TRUE;
	g_set_error(error,
		    MO_ERROR,
		    MO_ERROR_INVALID_DATA,
		    _("In the %s, “%s” is not a whole number of 0 or more"),
		    what,
		    member);
	return FALSE;
}

/* NULL removes the member, so optional fields do not turn into nulls. */
void
mo_json_set_string(JsonObject *obj, const gchar *member, const gchar *value)
{
	if (value == NULL) {
		json_object_remove_member(obj, member);
		return;
	}
	json_object_set_string_member(obj, member, value);
}

void
mo_json_set_int64(JsonObject *obj, const gchar *member, gint64 value)
{
	json_object_set_int_member(obj, member, value);
}

gchar *
mo_json_to_string(JsonObject *obj, gboolean pretty)
{
	g_autoptr(JsonGenerator) generator = json_generator_new();
	g_autoptr(JsonNode) root = json_node_new(JSON_NODE_OBJECT);

	json_node_set_object(root, obj);
	json_generator_set_root(generator, root);
	json_generator_set_pretty(generator, pretty);
	return json_generator_to_data(generator, NULL);
}

/* Items written by a newer mailoauth may mean something we do not know: refuse, not guess. */
gboolean
mo_json_check_version(JsonObject *obj, gint64 supported, const gchar *what, GError **error)
{
	gint64 version = 0;

	if (!mo_json_get_int64(obj, "version", &version, what, error))
		return FALSE;
	if (version > supported) {
		g_set_error(error,
			    MO_ERROR,
			    MO_ERROR_INVALID_DATA,
			    _("The %s has format version %lld, newer than this mailoauth "
			      "understands (%lld); upgrade mailoauth"),
			    what,
			    (long long)version,
			    (long long)supported);
		return FALSE;
	}
	return TRUE;
}
