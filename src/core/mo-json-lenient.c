/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>

#include "mo-json-lenient.h"

/* sasl-xoauth2 reads its token files and /etc/sasl-xoauth2.conf with a parser that allows
 * line (//) and block (slash-star) comments, a trailing comma and a UTF-8 byte order mark,
 * and people edit those files by hand. This pre-pass removes exactly those, outside strings,
 * so that the strict parser after it reads what sasl-xoauth2 reads; everything else is left
 * for it to judge. Only for those two kinds of file, never for provider answers or keyring
 * items. */

typedef struct {
	GString *out;
	gssize comma; /* where a comma that may turn out to be trailing sits in out; -1: none */
} MoLenient;

/* A comment starting at @p: how many bytes it takes (to the end of its line, or past its
 * `*\/`; an unterminated one takes the rest, which the strict parser then reports). */
static gsize
mo_json_lenient_comment(const gchar *p, const gchar *end)
{
	const gchar *stop;

	if (p + 1 >= end || p[0] != '/' || (p[1] != '/' && p[1] != '*'))
		return 0;
	if (p[1] == '/') {
		stop = memchr(p, '\n', (gsize)(end - p));
		return stop != NULL ? (gsize)(stop - p) : (gsize)(end - p);
	}
	for (stop = p + 2; stop + 1 < end; stop++) {
		if (stop[0] == '*' && stop[1] == '/')
			return (gsize)(stop + 2 - p);
	}
	return (gsize)(end - p);
}

/* A string starting at the quote @p, copied whole; returns the bytes it took. */
static gsize
mo_json_lenient_string(MoLenient *self, const gchar *p, const gchar *end)
{
	const gchar *q = p + 1;

	while (q < end && *q != '"') {
		if (*q == '\\' && q + 1 < end)
			q++;
		q++;
	}
	if (q < end)
		q++;
	g_string_append_len(self->out, p, q - p);
	return (gsize)(q - p);
}

/**
 * mo_json_lenient_clean:
 * @data: the text of a token file or of sasl-xoauth2's configuration
 * @len: its length
 * @out_len: (out): the length of the result
 *
 * Returns: (transfer full): @data without a BOM, comments and trailing commas; it may hold
 * secrets: wipe it
 */
gchar *
mo_json_lenient_clean(const gchar *data, gsize len, gsize *out_len)
{
	MoLenient self = {g_string_sized_new(len + 1), -1};
	const gchar *p = data;
	const gchar *end = data + len;

	if (len >= 3 && memcmp(data, "\xef\xbb\xbf", 3) == 0)
		p += 3;
	while (p < end) {
		gsize skip = mo_json_lenient_comment(p, end);

		if (skip > 0) {
			/* a space keeps the tokens on both sides apart */
			g_string_append_c(self.out, ' ');
			p += skip;
		} else if (*p == '"') {
			self.comma = -1;
			p += mo_json_lenient_string(&self, p, end);
		} else {
			if ((*p == '}' || *p == ']') && self.comma >= 0)
				self.out->str[self.comma] = ' ';
			if (*p == ',')
				self.comma = (gssize)self.out->len;
			else if (!g_ascii_isspace(*p))
				self.comma = -1;
			g_string_append_c(self.out, *p);
			p++;
		}
	}
	*out_len = self.out->len;
	return g_string_free(self.out, FALSE);
}
