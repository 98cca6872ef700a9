/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <errno.h>
#include <glib/gi18n-lib.h>
#include <string.h>

#include "mo-error.h"
#include "mo-json.h"
#include "mo-secure.h"

/* More exponent than this cannot change whether a number is a whole number that fits in
 * 64 bits; capping it keeps the arithmetic on it from overflowing. */
#define MO_JSON_EXPONENT_CAP 1000000000

/* Strings and number texts carry their length: a string may hold U+0000 (\u0000), and a
 * rewrite must keep it. */
struct _MoJson {
	MoJsonType type;
	gboolean boolean;
	gchar *text; /* number or string; wiped when freed */
	gsize len;
	GPtrArray *items; /* array: MoJson; object: MoJsonMember, in document order */
};

typedef struct {
	gchar *key; /* wiped when freed */
	gsize key_len;
	MoJson *value;
} MoJsonMember;

typedef struct {
	const gchar *data;
	gsize len;
	gsize pos;
	guint depth;
} MoJsonParser;

/* The serializer runs twice: once with @buf NULL to measure, then into a buffer of exactly
 * that size, so that no reallocation leaves copies of a token in freed memory. */
typedef struct {
	gchar *buf;
	gsize len;
} MoJsonSink;

/* --- the model --- */

static void
mo_json_text_free(gchar *text, gsize len)
{
	if (text == NULL)
		return;
	mo_secure_wipe(text, len);
	g_free(text);
}

static void
mo_json_member_free(gpointer data)
{
	MoJsonMember *member = data;

	mo_json_text_free(member->key, member->key_len);
	mo_json_free(member->value);
	g_free(member);
}

static MoJson *
mo_json_new(MoJsonType type)
{
	MoJson *value = g_new0(MoJson, 1);

	value->type = type;
	if (type == MO_JSON_ARRAY)
		value->items = g_ptr_array_new_with_free_func((GDestroyNotify)mo_json_free);
	else if (type == MO_JSON_OBJECT)
		value->items = g_ptr_array_new_with_free_func(mo_json_member_free);
	return value;
}

/* Takes ownership of @text, a NUL-terminated buffer of @len bytes before the NUL. */
static MoJson *
mo_json_new_text(MoJsonType type, gchar *text, gsize len)
{
	MoJson *value = mo_json_new(type);

	value->text = text;
	value->len = len;
	return value;
}

MoJson *
mo_json_new_null(void)
{
	return mo_json_new(MO_JSON_NULL);
}

MoJson *
mo_json_new_boolean(gboolean value)
{
	MoJson *json = mo_json_new(MO_JSON_BOOLEAN);

	json->boolean = value ? TRUE : FALSE;
	return json;
}

MoJson *
mo_json_new_int(gint64 value)
{
	gchar *text = g_strdup_printf("%" G_GINT64_FORMAT, value);

	return mo_json_new_text(MO_JSON_NUMBER, text, strlen(text));
}

MoJson *
mo_json_new_string(const gchar *value)
{
	g_return_val_if_fail(value != NULL, NULL);
	g_return_val_if_fail(g_utf8_validate(value, -1, NULL), NULL);

	return mo_json_new_text(MO_JSON_STRING, g_strdup(value), strlen(value));
}

MoJson *
mo_json_new_array(void)
{
	return mo_json_new(MO_JSON_ARRAY);
}

MoJson *
mo_json_new_object(void)
{
	return mo_json_new(MO_JSON_OBJECT);
}

void
mo_json_free(MoJson *value)
{
	if (value == NULL)
		return;
	mo_json_text_free(value->text, value->len);
	if (value->items != NULL)
		g_ptr_array_unref(value->items);
	g_free(value);
}

MoJsonType
mo_json_get_type(const MoJson *value)
{
	g_return_val_if_fail(value != NULL, MO_JSON_NULL);
	return value->type;
}

/* The getters accept NULL (an absent member), so that lookups chain. */
gboolean
mo_json_get_boolean(const MoJson *value)
{
	return value != NULL && value->type == MO_JSON_BOOLEAN && value->boolean;
}

const gchar *
mo_json_get_string_value(const MoJson *value)
{
	if (value == NULL || value->type != MO_JSON_STRING)
		return NULL;
	return value->text;
}

const gchar *
mo_json_get_number_text(const MoJson *value)
{
	if (value == NULL || value->type != MO_JSON_NUMBER)
		return NULL;
	return value->text;
}

/* Linear: our objects have a dozen members. Keys are compared with their length, so a key
 * holding U+0000 matches only itself. */
static MoJsonMember *
mo_json_object_find(const MoJson *object, const gchar *key, gsize key_len, guint *index)
{
	for (guint i = 0; i < object->items->len; i++) {
		MoJsonMember *member = g_ptr_array_index(object->items, i);

		if (member->key_len == key_len && memcmp(member->key, key, key_len) == 0) {
			if (index != NULL)
				*index = i;
			return member;
		}
	}
	return NULL;
}

/* Takes ownership of @key and @value; the caller made sure @key is not there yet. */
static void
mo_json_object_append(MoJson *object, gchar *key, gsize key_len, MoJson *value)
{
	MoJsonMember *member = g_new0(MoJsonMember, 1);

	member->key = key;
	member->key_len = key_len;
	member->value = value;
	g_ptr_array_add(object->items, member);
}

MoJson *
mo_json_object_get(const MoJson *object, const gchar *member)
{
	MoJsonMember *found;

	g_return_val_if_fail(object != NULL && object->type == MO_JSON_OBJECT, NULL);
	g_return_val_if_fail(member != NULL, NULL);

	found = mo_json_object_find(object, member, strlen(member), NULL);
	return found != NULL ? found->value : NULL;
}

void
mo_json_object_set(MoJson *object, const gchar *member, MoJson *value)
{
	MoJsonMember *found;

	g_return_if_fail(object != NULL && object->type == MO_JSON_OBJECT);
	g_return_if_fail(member != NULL && g_utf8_validate(member, -1, NULL));
	g_return_if_fail(value != NULL);

	found = mo_json_object_find(object, member, strlen(member), NULL);
	if (found != NULL) {
		/* in place: a rewritten token file keeps its layout */
		mo_json_free(found->value);
		found->value = value;
		return;
	}
	mo_json_object_append(object, g_strdup(member), strlen(member), value);
}

void
mo_json_object_remove(MoJson *object, const gchar *member)
{
	guint index = 0;

	g_return_if_fail(object != NULL && object->type == MO_JSON_OBJECT);
	g_return_if_fail(member != NULL);

	if (mo_json_object_find(object, member, strlen(member), &index) != NULL)
		g_ptr_array_remove_index(object->items, index);
}

guint
mo_json_object_size(const MoJson *object)
{
	g_return_val_if_fail(object != NULL && object->type == MO_JSON_OBJECT, 0);
	return object->items->len;
}

void
mo_json_array_add(MoJson *array, MoJson *value)
{
	g_return_if_fail(array != NULL && array->type == MO_JSON_ARRAY);
	g_return_if_fail(value != NULL);
	g_ptr_array_add(array->items, value);
}

guint
mo_json_array_length(const MoJson *array)
{
	g_return_val_if_fail(array != NULL && array->type == MO_JSON_ARRAY, 0);
	return array->items->len;
}

MoJson *
mo_json_array_get(const MoJson *array, guint index)
{
	g_return_val_if_fail(array != NULL && array->type == MO_JSON_ARRAY, NULL);
	if (index >= array->items->len)
		return NULL;
	return g_ptr_array_index(array->items, index);
}

/* --- the parser (RFC 8259) --- */

/* Never quotes the input in the message: it may hold a token. Returns FALSE. */
static gboolean
mo_json_error(GError **error, gsize offset, const gchar *problem)
{
	g_set_error(error,
		    MO_ERROR,
		    MO_ERROR_INVALID_DATA,
		    _("%s at byte offset %zu"),
		    problem,
		    offset);
	return FALSE;
}

/* As mo_json_error(), for the functions returning a value. Returns NULL. */
static gpointer
mo_json_fail(GError **error, gsize offset, const gchar *problem)
{
	mo_json_error(error, offset, problem);
	return NULL;
}

static void
mo_json_skip_whitespace(MoJsonParser *parser)
{
	while (parser->pos < parser->len) {
		gchar c = parser->data[parser->pos];
		if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
			return;
		parser->pos++;
	}
}

/* The next byte, or NUL at the end (a NUL in the data is an error wherever it is met). */
static gchar
mo_json_peek(const MoJsonParser *parser)
{
	return parser->pos < parser->len ? parser->data[parser->pos] : '\0';
}

/* Length of the UTF-8 sequence at @p if it is valid (RFC 3629: shortest form, no
 * surrogates, at most U+10FFFF), else 0. */
static guint
mo_json_utf8_sequence_len(const guchar *p, gsize avail)
{
	static const gunichar min[] = {0, 0, 0x80, 0x800, 0x10000};
	guint len = p[0] < 0xe0 ? 2 : (p[0] < 0xf0 ? 3 : 4);
	gunichar c;

	if (p[0] < 0x80)
		return 1;
	/* continuation bytes and 0xf8..0xff cannot start a sequence */
	if (p[0] < 0xc0 || p[0] > 0xf7 || avail < len)
		return 0;
	c = p[0] & (0x7f >> len);
	for (guint i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (p[i] & 0x3f);
	}
	if (c < min[len] || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	return len;
}

static gboolean
mo_json_read_hex4(const MoJsonParser *parser, gsize at, gsize end, gunichar *out)
{
	gunichar value = 0;

	if (at + 4 > end)
		return FALSE;
	for (gsize i = at; i < at + 4; i++) {
		gint digit = g_ascii_xdigit_value(parser->data[i]);
		if (digit < 0)
			return FALSE;
		value = value * 16 + (gunichar)digit;
	}
	*out = value;
	return TRUE;
}

/* \uXXXX, or a surrogate pair \uD83D\uDE00, at parser->pos; appends the UTF-8 to @out. */
static gboolean
mo_json_decode_unicode_escape(MoJsonParser *parser,
			      gsize end,
			      gchar *out,
			      gsize *out_len,
			      GError **error)
{
	gsize at = parser->pos;
	gunichar c = 0;
	gunichar low = 0;

	if (!mo_json_read_hex4(parser, at + 2, end, &c))
		return mo_json_error(error, at, _("Invalid \\u escape"));
	parser->pos = at + 6;
	if (c >= 0xdc00 && c <= 0xdfff)
		return mo_json_error(error, at, _("Lone low surrogate in a \\u escape"));
	if (c >= 0xd800 && c <= 0xdbff) {
		const gchar *next = parser->data + parser->pos;
		if (parser->pos + 2 > end || next[0] != '\\' || next[1] != 'u' ||
		    !mo_json_read_hex4(parser, parser->pos + 2, end, &low) || low < 0xdc00 ||
		    low > 0xdfff)
			return mo_json_error(error, at, _("Lone high surrogate in a \\u escape"));
		c = 0x10000 + ((c - 0xd800) << 10) + (low - 0xdc00);
		parser->pos += 6;
	}
	*out_len += g_unichar_to_utf8(c, out + *out_len);
	return TRUE;
}

static gboolean
mo_json_decode_escape(MoJsonParser *parser, gsize end, gchar *out, gsize *out_len, GError **error)
{
	static const gchar from[] = "\"\\/bfnrt";
	static const gchar to[] = "\"\\/\b\f\n\r\t";
	gsize at = parser->pos;
	gchar c = at + 1 < end ? parser->data[at + 1] : '\0';
	const gchar *simple = c != '\0' ? strchr(from, c) : NULL;

	if (c == 'u')
		return mo_json_decode_unicode_escape(parser, end, out, out_len, error);
	if (simple == NULL)
		return mo_json_error(error, at, _("Invalid escape in a string"));
	out[(*out_len)++] = to[simple - from];
	parser->pos += 2;
	return TRUE;
}

/* Decodes the string contents from parser->pos up to @end (the closing quote) into @out. */
static gboolean
mo_json_decode_string(MoJsonParser *parser, gsize end, gchar *out, gsize *out_len, GError **error)
{
	const guchar *data = (const guchar *)parser->data;

	*out_len = 0;
	while (parser->pos < end) {
		guint n;

		if (data[parser->pos] == '\\') {
			if (!mo_json_decode_escape(parser, end, out, out_len, error))
				return FALSE;
			continue;
		}
		if (data[parser->pos] < 0x20)
			return mo_json_error(error,
					     parser->pos,
					     _("Unescaped control character in a string"));
		n = mo_json_utf8_sequence_len(data + parser->pos, end - parser->pos);
		if (n == 0)
			return mo_json_error(error, parser->pos, _("Invalid UTF-8"));
		memcpy(out + *out_len, data + parser->pos, n);
		*out_len += n;
		parser->pos += n;
	}
	return TRUE;
}

/* The string at parser->pos (its opening quote). Decoded text is never longer than the raw
 * text, so one allocation of the raw length is enough and nothing is reallocated. */
static gchar *
mo_json_parse_string(MoJsonParser *parser, gsize *out_len, GError **error)
{
	gsize start = parser->pos;
	gsize end = start + 1;
	gchar *out;

	while (end < parser->len && parser->data[end] != '"')
		end += parser->data[end] == '\\' ? 2 : 1;
	if (end >= parser->len)
		return mo_json_fail(error, start, _("Unterminated string"));
	out = g_malloc0(end - start);
	parser->pos = start + 1;
	if (!mo_json_decode_string(parser, end, out, out_len, error)) {
		mo_json_text_free(out, end - start);
		return NULL;
	}
	parser->pos = end + 1;
	return out;
}

static gsize
mo_json_skip_digits(const MoJsonParser *parser, gsize at)
{
	while (at < parser->len && g_ascii_isdigit(parser->data[at]))
		at++;
	return at;
}

/* -? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?, kept as text. */
static MoJson *
mo_json_parse_number(MoJsonParser *parser, GError **error)
{
	const gchar *data = parser->data;
	gsize start = parser->pos;
	gsize at = start + (data[start] == '-' ? 1 : 0);

	if (at >= parser->len || !g_ascii_isdigit(data[at]))
		return mo_json_fail(error, start, _("Invalid number"));
	if (data[at] == '0' && at + 1 < parser->len && g_ascii_isdigit(data[at + 1]))
		return mo_json_fail(error, start, _("Leading zero in a number"));
	at = mo_json_skip_digits(parser, at);
	if (at < parser->len && data[at] == '.') {
		if (mo_json_skip_digits(parser, at + 1) == at + 1)
			return mo_json_fail(error, start, _("Invalid number"));
		at = mo_json_skip_digits(parser, at + 1);
	}
	if (at < parser->len && (data[at] == 'e' || data[at] == 'E')) {
		at++;
		if (at < parser->len && (data[at] == '+' || data[at] == '-'))
			at++;
		if (mo_json_skip_digits(parser, at) == at)
			return mo_json_fail(error, start, _("Invalid number"));
		at = mo_json_skip_digits(parser, at);
	}
	parser->pos = at;
	return mo_json_new_text(MO_JSON_NUMBER, g_strndup(data + start, at - start), at - start);
}

static MoJson *
mo_json_parse_literal(MoJsonParser *parser, GError **error)
{
	const gchar *rest = parser->data + parser->pos;
	gsize left = parser->len - parser->pos;

	if (left >= 4 && memcmp(rest, "null", 4) == 0) {
		parser->pos += 4;
		return mo_json_new_null();
	}
	if (left >= 4 && memcmp(rest, "true", 4) == 0) {
		parser->pos += 4;
		return mo_json_new_boolean(TRUE);
	}
	if (left >= 5 && memcmp(rest, "false", 5) == 0) {
		parser->pos += 5;
		return mo_json_new_boolean(FALSE);
	}
	return mo_json_fail(error, parser->pos, _("Unexpected character"));
}

static MoJson *mo_json_parse_value(MoJsonParser *parser, GError **error);

/* One "key": value at parser->pos, appended to @object; @offsets gets where its name is. */
static gboolean
mo_json_parse_member(MoJsonParser *parser, MoJson *object, GArray *offsets, GError **error)
{
	gsize at;
	gsize key_len = 0;
	gchar *key;
	MoJson *value;

	mo_json_skip_whitespace(parser);
	at = parser->pos;
	if (mo_json_peek(parser) != '"')
		return mo_json_error(error, at, _("Expected a member name"));
	key = mo_json_parse_string(parser, &key_len, error);
	if (key == NULL)
		return FALSE;
	mo_json_skip_whitespace(parser);
	if (mo_json_peek(parser) != ':') {
		mo_json_text_free(key, key_len);
		return mo_json_error(error, parser->pos, _("Expected “:”"));
	}
	parser->pos++;
	value = mo_json_parse_value(parser, error);
	if (value == NULL) {
		mo_json_text_free(key, key_len);
		return FALSE;
	}
	mo_json_object_append(object, key, key_len, value);
	g_array_append_val(offsets, at);
	return TRUE;
}

static gint
mo_json_member_key_compare(const MoJsonMember *a, const MoJsonMember *b)
{
	if (a->key_len != b->key_len)
		return a->key_len < b->key_len ? -1 : 1;
	return memcmp(a->key, b->key, a->key_len);
}

/* Orders member indices by name, then by position. */
static gint
mo_json_member_index_compare(gconstpointer a, gconstpointer b, gpointer user_data)
{
	GPtrArray *items = user_data;
	guint i = *(const guint *)a;
	guint j = *(const guint *)b;
	gint by_key = mo_json_member_key_compare(g_ptr_array_index(items, i),
						 g_ptr_array_index(items, j));

	if (by_key != 0)
		return by_key;
	return i < j ? -1 : (i > j ? 1 : 0);
}

/* Duplicate names, found by sorting: comparing each name with all those before it takes
 * seconds for a hostile 256 KiB object of short names. Names the first repeated one. */
static gboolean
mo_json_check_duplicates(const MoJson *object, GArray *offsets, GError **error)
{
	guint n = object->items->len;
	g_autofree guint *order = g_new(guint, n);
	gsize first = G_MAXSIZE;

	for (guint i = 0; i < n; i++)
		order[i] = i;
	g_qsort_with_data(order, n, sizeof(guint), mo_json_member_index_compare, object->items);
	for (guint i = 1; i < n; i++) {
		if (mo_json_member_key_compare(g_ptr_array_index(object->items, order[i - 1]),
					       g_ptr_array_index(object->items, order[i])) == 0)
			first = MIN(first, g_array_index(offsets, gsize, order[i]));
	}
	if (first != G_MAXSIZE)
		return mo_json_error(error, first, _("Duplicate member name"));
	return TRUE;
}

/* The members or elements of @container, up to and with its closing bracket. */
static gboolean
mo_json_parse_items(MoJsonParser *parser, MoJson *container, GError **error)
{
	gboolean is_object = container->type == MO_JSON_OBJECT;
	gchar close = is_object ? '}' : ']';
	g_autoptr(GArray) offsets = g_array_new(FALSE, FALSE, sizeof(gsize));

	mo_json_skip_whitespace(parser);
	if (mo_json_peek(parser) == close) {
		parser->pos++;
		return TRUE;
	}
	for (;;) {
		if (is_object && !mo_json_parse_member(parser, container, offsets, error))
			return FALSE;
		if (!is_object) {
			MoJson *item = mo_json_parse_value(parser, error);
			if (item == NULL)
				return FALSE;
			g_ptr_array_add(container->items, item);
		}
		mo_json_skip_whitespace(parser);
		if (mo_json_peek(parser) != ',')
			break;
		parser->pos++;
	}
	if (mo_json_peek(parser) != close)
		return mo_json_error(error,
				     parser->pos,
				     is_object ? _("Expected “,” or “}”")
					       : _("Expected “,” or “]”"));
	parser->pos++;
	return !is_object || mo_json_check_duplicates(container, offsets, error);
}

/* The array or object whose opening bracket is at parser->pos. */
static MoJson *
mo_json_parse_container(MoJsonParser *parser, GError **error)
{
	gboolean is_object = parser->data[parser->pos] == '{';
	g_autoptr(MoJson) container = mo_json_new(is_object ? MO_JSON_OBJECT : MO_JSON_ARRAY);

	if (parser->depth >= MO_JSON_MAX_DEPTH)
		return mo_json_fail(error, parser->pos, _("Nested too deeply"));
	parser->depth++;
	parser->pos++;
	if (!mo_json_parse_items(parser, container, error))
		return NULL;
	parser->depth--;
	return g_steal_pointer(&container);
}

static MoJson *
mo_json_parse_value(MoJsonParser *parser, GError **error)
{
	gchar c;
	gsize len = 0;
	gchar *text;

	mo_json_skip_whitespace(parser);
	if (parser->pos >= parser->len)
		return mo_json_fail(error, parser->pos, _("Unexpected end of data"));
	c = parser->data[parser->pos];
	if (c == '{' || c == '[')
		return mo_json_parse_container(parser, error);
	if (c == '-' || g_ascii_isdigit(c))
		return mo_json_parse_number(parser, error);
	if (c != '"')
		return mo_json_parse_literal(parser, error);
	text = mo_json_parse_string(parser, &len, error);
	if (text == NULL)
		return NULL;
	return mo_json_new_text(MO_JSON_STRING, text, len);
}

/**
 * mo_json_parse:
 * @data: (nullable): the document, not necessarily NUL-terminated when @len >= 0
 * @len: its length, or -1 when NUL-terminated
 *
 * Returns: (transfer full): the one value that is the whole of @data
 */
MoJson *
mo_json_parse(const gchar *data, gssize len, GError **error)
{
	MoJsonParser parser = {.data = data};
	g_autoptr(MoJson) value = NULL;

	g_return_val_if_fail(data != NULL || len <= 0, NULL);
	g_return_val_if_fail(error == NULL || *error == NULL, NULL);

	parser.len = len >= 0 ? (gsize)len : (data != NULL ? strlen(data) : 0);
	if (parser.len > MO_JSON_MAX_SIZE) {
		g_set_error(error,
			    MO_ERROR,
			    MO_ERROR_INVALID_DATA,
			    _("Larger than %d bytes (%zu bytes)"),
			    MO_JSON_MAX_SIZE,
			    parser.len);
		return NULL;
	}
	value = mo_json_parse_value(&parser, error);
	if (value == NULL)
		return NULL;
	mo_json_skip_whitespace(&parser);
	if (parser.pos < parser.len)
		return mo_json_fail(error, parser.pos, _("Unexpected data after the value"));

	/* success */
	return g_steal_pointer(&value);
}

/* --- the serializer --- */

static void
mo_json_sink_add(MoJsonSink *sink, const gchar *data, gsize len)
{
	if (sink->buf != NULL)
		memcpy(sink->buf + sink->len, data, len);
	sink->len += len;
}

static void
mo_json_sink_add_str(MoJsonSink *sink, const gchar *str)
{
	mo_json_sink_add(sink, str, strlen(str));
}

/* " and \ and the control characters (DEL too: a terminal may show this) are escaped. */
static void
mo_json_write_string(MoJsonSink *sink, const gchar *text, gsize len)
{
	static const gchar from[] = "\"\\\b\f\n\r\t";
	static const gchar to[] = "\"\\bfnrt";

	mo_json_sink_add(sink, "\"", 1);
	for (gsize i = 0; i < len; i++) {
		guchar c = (guchar)text[i];
		const gchar *named = c != '\0' ? strchr(from, c) : NULL;
		gchar escape[7];

		if (named != NULL) {
			escape[0] = '\\';
			escape[1] = to[named - from];
			mo_json_sink_add(sink, escape, 2);
		} else if (c < 0x20 || c == 0x7f) {
			g_snprintf(escape, sizeof(escape), "\\u%04x", c);
			mo_json_sink_add(sink, escape, 6);
		} else {
			mo_json_sink_add(sink, text + i, 1);
		}
	}
	mo_json_sink_add(sink, "\"", 1);
}

static void
mo_json_write_newline(MoJsonSink *sink, gboolean pretty, guint level)
{
	if (!pretty)
		return;
	mo_json_sink_add(sink, "\n", 1);
	for (guint i = 0; i < level; i++)
		mo_json_sink_add(sink, "  ", 2);
}

static void
mo_json_write_value(MoJsonSink *sink, const MoJson *value, gboolean pretty, guint level);

static void
mo_json_write_container(MoJsonSink *sink, const MoJson *value, gboolean pretty, guint level)
{
	gboolean is_object = value->type == MO_JSON_OBJECT;

	mo_json_sink_add_str(sink, is_object ? "{" : "[");
	for (guint i = 0; i < value->items->len; i++) {
		if (i > 0)
			mo_json_sink_add(sink, ",", 1);
		mo_json_write_newline(sink, pretty, level + 1);
		if (is_object) {
			MoJsonMember *member = g_ptr_array_index(value->items, i);
			mo_json_write_string(sink, member->key, member->key_len);
			mo_json_sink_add_str(sink, pretty ? ": " : ":");
			mo_json_write_value(sink, member->value, pretty, level + 1);
		} else {
			mo_json_write_value(sink,
					    g_ptr_array_index(value->items, i),
					    pretty,
					    level + 1);
		}
	}
	if (value->items->len > 0)
		mo_json_write_newline(sink, pretty, level);
	mo_json_sink_add_str(sink, is_object ? "}" : "]");
}

static void
mo_json_write_value(MoJsonSink *sink, const MoJson *value, gboolean pretty, guint level)
{
	switch (value->type) {
	case MO_JSON_NULL:
		mo_json_sink_add_str(sink, "null");
		break;
	case MO_JSON_BOOLEAN:
		mo_json_sink_add_str(sink, value->boolean ? "true" : "false");
		break;
	case MO_JSON_NUMBER:
		mo_json_sink_add(sink, value->text, value->len);
		break;
	case MO_JSON_STRING:
		mo_json_write_string(sink, value->text, value->len);
		break;
	case MO_JSON_ARRAY:
	case MO_JSON_OBJECT:
		mo_json_write_container(sink, value, pretty, level);
		break;
	}
}

/**
 * mo_json_serialize:
 * @pretty: two-space indents and `"key": value`, else no whitespace at all
 *
 * Returns: (transfer full): the text, without a final newline; it may hold secrets
 */
gchar *
mo_json_serialize(const MoJson *value, gboolean pretty)
{
	MoJsonSink measure = {NULL, 0};
	MoJsonSink sink = {NULL, 0};

	g_return_val_if_fail(value != NULL, NULL);

	mo_json_write_value(&measure, value, pretty, 0);
	sink.buf = g_malloc(measure.len + 1);
	mo_json_write_value(&sink, value, pretty, 0);
	sink.buf[sink.len] = '\0';
	return sink.buf;
}

/* --- helpers for our documents --- */

/* @what names the document in messages ("token file /x", "keyring item for a@b"). */
MoJson *
mo_json_parse_object(const gchar *data, gssize len, const gchar *what, GError **error)
{
	g_autoptr(GError) error_local = NULL;
	g_autoptr(MoJson) root = NULL;

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
	root = mo_json_parse(data, len, &error_local);
	if (root == NULL) {
		g_set_error(error,
			    MO_ERROR,
			    MO_ERROR_INVALID_DATA,
			    _("The %s is not valid JSON: %s"),
			    what,
			    error_local->message);
		return NULL;
	}
	if (root->type != MO_JSON_OBJECT) {
		g_set_error(error,
			    MO_ERROR,
			    MO_ERROR_INVALID_DATA,
			    _("The %s is not a JSON object"),
			    what);
		return NULL;
	}

	/* success */
	return g_steal_pointer(&root);
}

/* Absent or null leaves *out NULL; any other non-string is an error. So is a string holding
 * U+0000, which C would silently cut short. */
gboolean
mo_json_get_string(const MoJson *obj,
		   const gchar *member,
		   gchar **out,
		   const gchar *what,
		   GError **error)
{
	MoJson *node = mo_json_object_get(obj, member);

	g_return_val_if_fail(error == NULL || *error == NULL, FALSE);

	*out = NULL;
	if (node == NULL || node->type == MO_JSON_NULL)
		return TRUE;
	if (node->type != MO_JSON_STRING) {
		g_set_error(error,
			    MO_ERROR,
			    MO_ERROR_INVALID_DATA,
			    _("In the %s, “%s” is not a string"),
			    what,
			    member);
		return FALSE;
	}
	if (strlen(node->text) != node->len) {
		g_set_error(error,
			    MO_ERROR,
			    MO_ERROR_INVALID_DATA,
			    _("In the %s, “%s” contains a NUL character"),
			    what,
			    member);
		return FALSE;
	}
	*out = g_strdup(node->text);
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

/* Digit @i of the digits of a number written without its point: int part, then fraction. */
static gint
mo_json_number_digit(const gchar *int_part, gsize int_len, const gchar *frac, gsize i)
{
	return (i < int_len ? int_part[i] : frac[i - int_len]) - '0';
}

/* Exactly, without doubles: TRUE when the validated number @text is a whole number in
 * 0..G_MAXINT64, as an integer or in a fraction or exponent form (1e10, 2.50e1; -0 is 0). */
static gboolean
mo_json_number_to_int64(const gchar *text, gint64 *out)
{
	const gchar *int_part = text[0] == '-' ? text + 1 : text;
	gsize int_len = strspn(int_part, "0123456789");
	const gchar *frac = int_part[int_len] == '.' ? int_part + int_len + 1 : int_part + int_len;
	gsize n_digits = int_len + strspn(frac, "0123456789");
	const gchar *exp = strpbrk(text, "eE");
	gint64 shift = exp != NULL ? CLAMP(g_ascii_strtoll(exp + 1, NULL, 10),
					   -MO_JSON_EXPONENT_CAP,
					   MO_JSON_EXPONENT_CAP)
				   : 0;
	gsize first = 0;
	gsize last = n_digits;
	guint64 value = 0;

	while (first < n_digits && mo_json_number_digit(int_part, int_len, frac, first) == 0)
		first++;
	if (first == n_digits) {
		*out = 0;
		return TRUE;
	}
	while (mo_json_number_digit(int_part, int_len, frac, last - 1) == 0)
		last--;
	/* value = digits[first..last) * 10^shift */
	shift += (gint64)(n_digits - last) - (gint64)(n_digits - int_len);
	if (text[0] == '-' || shift < 0 || (gint64)(last - first) + shift > 19)
		return FALSE;
	for (gsize i = first; i < last; i++)
		value = value * 10 + (guint64)mo_json_number_digit(int_part, int_len, frac, i);
	for (gint64 i = 0; i < shift; i++)
		value *= 10;
	if (value > G_MAXINT64)
		return FALSE;
	*out = (gint64)value;
	return TRUE;
}

/* sasl-xoauth2 writes numbers such as expiry as decimal strings; accept both, 64-bit. Every
 * number we read (times, durations, versions) is a whole number >= 0. Absent or null leaves
 * *out 0. */
gboolean
mo_json_get_int64(const MoJson *obj,
		  const gchar *member,
		  gint64 *out,
		  const gchar *what,
		  GError **error)
{
	MoJson *node = mo_json_object_get(obj, member);

	g_return_val_if_fail(error == NULL || *error == NULL, FALSE);

	*out = 0;
	if (node == NULL || node->type == MO_JSON_NULL)
		return TRUE;
	if (node->type == MO_JSON_NUMBER && mo_json_number_to_int64(node->text, out))
		return TRUE;
	if (node->type == MO_JSON_STRING && strlen(node->text) == node->len &&
	    mo_json_parse_int64_string(node->text, out))
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
mo_json_set_string(MoJson *obj, const gchar *member, const gchar *value)
{
	if (value == NULL) {
		mo_json_object_remove(obj, member);
		return;
	}
	mo_json_object_set(obj, member, mo_json_new_string(value));
}

void
mo_json_set_int64(MoJson *obj, const gchar *member, gint64 value)
{
	mo_json_object_set(obj, member, mo_json_new_int(value));
}

gchar *
mo_json_to_string(const MoJson *obj, gboolean pretty)
{
	return mo_json_serialize(obj, pretty);
}

/* Items written by a newer mailoauth may mean something we do not know: refuse, not guess. */
gboolean
mo_json_check_version(const MoJson *obj, gint64 supported, const gchar *what, GError **error)
{
	gint64 version = 0;

	g_return_val_if_fail(error == NULL || *error == NULL, FALSE);

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
