/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* cmocka.h uses size_t, va_list, jmp_buf and uintmax_t without including their headers */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
/* only after the four above */
#include <cmocka.h>
#include <glib.h>

G_BEGIN_DECLS

/* cmocka compares as uintmax_t and prints in hex; these say what went wrong in words. */
#define mo_assert_no_error(err)                                                                    \
	do {                                                                                       \
		const GError *mo_err_ = (err);                                                     \
		if (mo_err_ != NULL)                                                               \
			fail_msg("unexpected error %s:%d: %s",                                     \
				 g_quark_to_string(mo_err_->domain),                               \
				 mo_err_->code,                                                    \
				 mo_err_->message);                                                \
	} while (0)

#define mo_assert_error(err, dom, cd)                                                              \
	do {                                                                                       \
		const GError *mo_err_ = (err);                                                     \
		if (mo_err_ == NULL)                                                               \
			fail_msg("expected error %s:%d, got none",                                 \
				 g_quark_to_string(dom),                                           \
				 (int)(cd));                                                       \
		if (!g_error_matches(mo_err_, (dom), (cd)))                                        \
			fail_msg("expected error %s:%d, got %s:%d: %s",                            \
				 g_quark_to_string(dom),                                           \
				 (int)(cd),                                                        \
				 g_quark_to_string(mo_err_->domain),                               \
				 mo_err_->code,                                                    \
				 mo_err_->message);                                                \
	} while (0)

#define mo_assert_str_contains(haystack, needle)                                                   \
	do {                                                                                       \
		const gchar *mo_h_ = (haystack);                                                   \
		const gchar *mo_n_ = (needle);                                                     \
		if (mo_h_ == NULL || strstr(mo_h_, mo_n_) == NULL)                                 \
			fail_msg("“%s” does not contain “%s”",                                     \
				 mo_h_ != NULL ? mo_h_ : "(null)",                                 \
				 mo_n_);                                                           \
	} while (0)

#define mo_assert_str_lacks(haystack, needle)                                                      \
	do {                                                                                       \
		const gchar *mo_h_ = (haystack);                                                   \
		const gchar *mo_n_ = (needle);                                                     \
		if (mo_h_ != NULL && strstr(mo_h_, mo_n_) != NULL)                                 \
			fail_msg("“%s” contains “%s”", mo_h_, mo_n_);                              \
	} while (0)

#define mo_assert_int64_equal(a, b)                                                                \
	do {                                                                                       \
		gint64 mo_a_ = (a);                                                                \
		gint64 mo_b_ = (b);                                                                \
		if (mo_a_ != mo_b_)                                                                \
			fail_msg("%s is %" G_GINT64_FORMAT ", expected %" G_GINT64_FORMAT,         \
				 #a,                                                               \
				 mo_a_,                                                            \
				 mo_b_);                                                           \
	} while (0)

void mo_test_init(void);

gchar *mo_test_make_tmpdir(void);
gchar *mo_test_list_dir(const gchar *dir);
void mo_test_rm_rf(const gchar *path);
void mo_test_write_file(const gchar *path, const gchar *contents);
gint64 mo_test_now(void);

/* A socket bound to 127.0.0.1 that never listens: connecting to it is refused at once, so a
 * test can make a network error without waiting for a timeout or hoping a port is free. */
gint mo_test_refusing_socket_new(guint16 *port);

G_END_DECLS
