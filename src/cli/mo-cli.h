/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

#include "mo-config.h"
#include "mo-error.h"
#include "mo-export-status.h"
#include "mo-keyring.h"
#include "mo-lock.h"

G_BEGIN_DECLS

/* State shared by the subcommands of one run. */
typedef struct {
	MoConfig config;
	MoKeyring *keyring; /* opened on first use */
	const gchar *command;
} MoCli;

typedef int (*MoCliCommandFunc)(MoCli *cli, int argc, char **argv);

MoKeyring *mo_cli_get_keyring(MoCli *cli, GError **error);
MoLock *mo_cli_lock_account(MoCli *cli, const gchar *name, GError **error);
gboolean mo_cli_parse(MoCli *cli,
		      const gchar *params,
		      const gchar *summary,
		      const GOptionEntry *entries,
		      int *argc,
		      char ***argv,
		      int min_args,
		      int max_args,
		      GError **error);
gboolean mo_cli_parse_with(MoCli *cli,
			   const gchar *params,
			   const gchar *summary,
			   const GOptionEntry *entries,
			   const GOptionEntry *more_entries,
			   int *argc,
			   char ***argv,
			   int min_args,
			   int max_args,
			   GError **error);
gchar *mo_cli_read_line_prompt(const gchar *prompt, gsize max, GError **error);
int mo_cli_fail(MoCli *cli, const gchar *account, GError *error);
void mo_cli_warn(const gchar *message, gpointer user_data);
gchar *mo_cli_format_time(gint64 when, gint64 now);
gchar *mo_cli_format_expiry(gint64 expiry, gint64 now);
gint mo_cli_compare_paths(gconstpointer a, gconstpointer b);
gchar *mo_cli_read_secret(const gchar *prompt, GError **error);

/* Options describing an app: "app add", and one-off apps of "authorize". */
typedef struct {
	gchar *provider;
	gchar *client_id;
	gchar *tenant;
	gchar *issuer;
	gchar *token_endpoint;
	gchar *authorize_endpoint;
	gchar *device_endpoint;
	gboolean secret;
} MoAppOptions;

#define MO_APP_OPTION_ENTRIES 8

void mo_cli_app_option_entries(MoAppOptions *opts, GOptionEntry *entries);
gboolean mo_cli_app_options_given(const MoAppOptions *opts);
MoApp *mo_cli_app_build(MoCli *cli, const gchar *name, MoAppOptions *opts, GError **error);
void mo_cli_app_options_clear(MoAppOptions *opts);

/* One sign-in, shared by "authorize" and "export". */
typedef struct {
	const gchar *flow; /* device, browser, paste; NULL: the provider's default */
	const gchar *login_hint;
	gint port;    /* of the browser flow's listener; 0: any */
	gint timeout; /* seconds to wait for the browser */
	gboolean no_browser;
} MoSignInOptions;

MoToken *mo_cli_sign_in(MoCli *cli,
			const gchar *account,
			const MoApp *app,
			const gchar *scope,
			const MoSignInOptions *opts,
			GError **error);

MoToken *mo_cli_get_token(MoCli *cli,
			  const gchar *account,
			  gboolean force,
			  gboolean *refreshed,
			  GError **error);

GPtrArray *mo_cli_read_exports(GError **error);
void mo_cli_print_export(const MoExportStatus *status, gint64 now);

int mo_cmd_authorize(MoCli *cli, int argc, char **argv);
int mo_cmd_token(MoCli *cli, int argc, char **argv);
int mo_cmd_refresh(MoCli *cli, int argc, char **argv);
int mo_cmd_import(MoCli *cli, int argc, char **argv);
int mo_cmd_app(MoCli *cli, int argc, char **argv);
int mo_cmd_status(MoCli *cli, int argc, char **argv);
int mo_cmd_forget(MoCli *cli, int argc, char **argv);
int mo_cmd_export(MoCli *cli, int argc, char **argv);
int mo_cmd_doctor(MoCli *cli, int argc, char **argv);
int mo_cmd_test(MoCli *cli, int argc, char **argv);

G_END_DECLS
