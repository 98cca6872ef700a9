/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <glib/gi18n.h>
#include <stdio.h>

#include "mo-cli.h"
#include "mo-curl.h"
#include "mo-export-layout.h"
#include "mo-export-status.h"
#include "mo-file-store.h"
#include "mo-refresh.h"

/* "mailoauth refresh": an account of the keyring, or token files — those given, or all that
 * "mailoauth export" wrote (what the export's systemd timer runs, as postfix's mail owner,
 * outside the chroot, under the same lock as the SASL plugin inside it). */

#define MO_REFRESH_CONF_ENV "MAILOAUTH_EXPORT_CONF"

typedef struct {
	gboolean force;
	gboolean exported;
	gchar **files;
	gint margin;
} MoRefreshCmdOptions;

static MoRefreshCmdOptions mo_cmd_refresh_opts = {.margin = -1};

static const GOptionEntry mo_cmd_refresh_entries[] = {
	{"force",
	 'f',
	 0,
	 G_OPTION_ARG_NONE,
	 &mo_cmd_refresh_opts.force,
	 N_("Refresh even if the token is still fresh"),
	 NULL},
	{"file",
	 0,
	 0,
	 G_OPTION_ARG_FILENAME_ARRAY,
	 &mo_cmd_refresh_opts.files,
	 N_("Refresh this sasl-xoauth2 token file instead of a keyring account (repeatable)"),
	 N_("PATH")},
	{"exported",
	 0,
	 0,
	 G_OPTION_ARG_NONE,
	 &mo_cmd_refresh_opts.exported,
	 N_("Refresh every token file written by “mailoauth export” (the systemd timer runs this)"),
	 NULL},
	{"margin",
	 0,
	 0,
	 G_OPTION_ARG_INT,
	 &mo_cmd_refresh_opts.margin,
	 N_("Refresh tokens with less than SECONDS left (default: the refresh-margin setting)"),
	 N_("SECONDS")},
	{NULL},
};

static void
mo_cmd_refresh_report(const gchar *name, const MoToken *token, gboolean refreshed)
{
	g_autofree gchar *until =
		mo_cli_format_expiry(token->expiry, g_get_real_time() / G_USEC_PER_SEC);

	if (refreshed)
		g_printerr(_("Refreshed the token of %s; %s.\n"), name, until);
	else
		g_printerr(_("The token of %s is %s; not refreshed (use --force to "
			     "refresh anyway).\n"),
			   name,
			   until);
}

/* One token file, under the lock beside it; its status file (if it is an exported one) says
 * how it went. */
static gboolean
mo_cmd_refresh_file(MoCli *cli, const gchar *path, gint64 margin, gboolean force)
{
	MoRefreshOptions options = {
		.margin = margin,
		.force = force,
		.http = cli->config.http,
		.warn = mo_cli_warn,
		.before_request = mo_curl_preload,
	};
	g_autoptr(MoTokenStore) store = NULL;
	g_autoptr(MoToken) token = NULL;
	g_autoptr(GError) error_local = NULL;
	gboolean refreshed = FALSE;

	store = mo_file_store_new(path, &error_local);
	if (store != NULL)
		token = mo_refresh_get_token(store, &options, &refreshed, &error_local);
	if (token == NULL) {
		if (store != NULL && !g_error_matches(error_local, MO_ERROR, MO_ERROR_INVALID_DATA))
			mo_export_status_record(path, NULL, error_local);
		g_autofree gchar *shown = mo_text_escape(error_local->message);

		g_printerr("mailoauth refresh: %s\n", shown);
		return FALSE;
	}
	if (refreshed)
		mo_export_status_record(path, token, NULL);
	mo_cmd_refresh_report(path, token, refreshed);
	return TRUE;
}

/* Every file in the export directory on disk (names as the helper allows them). */
static GPtrArray *
mo_cmd_refresh_exported_files(GError **error)
{
	const gchar *conf = g_getenv(MO_REFRESH_CONF_ENV);
	g_autoptr(MoExportLayout) layout = NULL;
	g_autoptr(GPtrArray) files = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(GDir) dir = NULL;
	const gchar *name;

	layout =
		mo_export_layout_load(conf != NULL ? conf : mo_export_layout_default_conf(), error);
	if (layout == NULL)
		return NULL;
	dir = g_dir_open(layout->real_directory, 0, error);
	if (dir == NULL)
		return NULL;
	while ((name = g_dir_read_name(dir)) != NULL) {
		if (mo_export_name_is_valid(name, NULL))
			g_ptr_array_add(files, mo_export_layout_file(layout, name));
	}
	g_ptr_array_sort(files, (GCompareFunc)mo_cli_compare_paths);
	return g_steal_pointer(&files);
}

static int
mo_cmd_refresh_files(MoCli *cli, const MoRefreshCmdOptions *opts)
{
	g_autoptr(GPtrArray) files = g_ptr_array_new_with_free_func(g_free);
	gint64 margin = opts->margin >= 0 ? opts->margin : cli->config.refresh_margin;
	guint failed = 0;
	GError *error = NULL;

	if (opts->exported) {
		g_clear_pointer(&files, g_ptr_array_unref);
		files = mo_cmd_refresh_exported_files(&error);
		if (files == NULL)
			return mo_cli_fail(cli, NULL, error);
	}
	for (guint i = 0; opts->files != NULL && opts->files[i] != NULL; i++)
		g_ptr_array_add(files, g_strdup(opts->files[i]));
	for (guint i = 0; i < files->len; i++) {
		if (!mo_cmd_refresh_file(cli, files->pdata[i], margin, opts->force))
			failed++;
	}
	return failed > 0 ? MO_EXIT_FAILURE : MO_EXIT_OK;
}

static int
mo_cmd_refresh_account(MoCli *cli, const gchar *account, const MoRefreshCmdOptions *opts)
{
	g_autoptr(MoToken) token = NULL;
	gboolean refreshed = FALSE;
	GError *error = NULL;

	if (opts->margin >= 0)
		cli->config.refresh_margin = opts->margin;
	token = mo_cli_get_token(cli, account, opts->force, &refreshed, &error);
	if (token == NULL)
		return mo_cli_fail(cli, account, error);
	mo_cmd_refresh_report(account, token, refreshed);
	return MO_EXIT_OK;
}

static int
mo_cmd_refresh_dispatch(MoCli *cli, int argc, char **argv, const MoRefreshCmdOptions *opts)
{
	gboolean files = opts->exported || opts->files != NULL;

	if (files == (argc == 2)) {
		g_printerr(_("mailoauth refresh: give ACCOUNT, or --file PATH / --exported (see "
			     "“mailoauth refresh --help”)\n"));
		return MO_EXIT_USAGE;
	}
	if (files)
		return mo_cmd_refresh_files(cli, opts);
	return mo_cmd_refresh_account(cli, argv[1], opts);
}

int
mo_cmd_refresh(MoCli *cli, int argc, char **argv)
{
	GError *error = NULL;
	int rc;

	if (!mo_cli_parse(cli,
			  _("ACCOUNT | --file PATH… | --exported"),
			  _("Refreshes the token of ACCOUNT if it expires within the refresh "
			    "margin (always with --force) and stores the result; or, with --file "
			    "or --exported, token files, under the same lock as the SASL plugin."),
			  mo_cmd_refresh_entries,
			  &argc,
			  &argv,
			  0,
			  1,
			  &error))
		return mo_cli_fail(cli, NULL, error);
	rc = mo_cmd_refresh_dispatch(cli, argc, argv, &mo_cmd_refresh_opts);
	g_strfreev(mo_cmd_refresh_opts.files);
	return rc;
}
