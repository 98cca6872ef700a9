/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

#include "mo-token.h"

G_BEGIN_DECLS

/* A status file beside each exported token file, readable by anyone and holding no secret, so
 * that `mailoauth status` can tell a user how their export is doing without root:
 * /etc/sasl-tokens/X has its status in /etc/sasl-tokens.status/X. */
#define MO_EXPORT_STATUS_VERSION 1
#define MO_EXPORT_STATUS_SUFFIX	 ".status"
#define MO_EXPORT_STATUS_MODE	 0644
/* Longest last_error kept, in bytes: a line in `mailoauth status`, not a log. */
#define MO_EXPORT_STATUS_ERROR_MAX 300
/* Largest status file read: the fields above, a path and the error. */
#define MO_EXPORT_STATUS_MAX_SIZE (16 * 1024)

typedef struct {
	gchar *account;
	gchar *path;	     /* the token file, as its user names it */
	gint64 expiry;	     /* of the access token in the file; 0 when unknown */
	gint64 last_refresh; /* last successful refresh; 0 when never */
	gint64 updated;	     /* when the status was written; 0 on write means now */
	gchar *last_error;   /* (nullable): why the last refresh failed */
	gboolean needs_sign_in;
} MoExportStatus;

MoExportStatus *mo_export_status_new(void);
void mo_export_status_free(MoExportStatus *status);
gchar *mo_export_status_path(const gchar *token_file_path);
gchar *mo_export_status_to_json(const MoExportStatus *status);
gboolean
mo_export_status_write(const gchar *token_file_path, const MoExportStatus *status, GError **error);
MoExportStatus *mo_export_status_read(const gchar *status_file, GError **error);
void
mo_export_status_record(const gchar *token_file_path, const MoToken *token, const GError *failure);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(MoExportStatus, mo_export_status_free)

G_END_DECLS
