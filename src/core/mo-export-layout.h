/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>
#include <sys/types.h>

G_BEGIN_DECLS

/* Where `mailoauth export` puts token files for postfix, read by the privileged helper (as
 * root) and by the CLI (as any user) from one root-owned configuration file. */
#define MO_EXPORT_CONF_DEFAULT		 "/etc/mailoauth/export.conf"
#define MO_EXPORT_CONF_GROUP		 "export"
#define MO_EXPORT_DIRECTORY_DEFAULT	 "/etc/sasl-tokens"
#define MO_EXPORT_POSTFIX_CONFIG_DEFAULT "/etc/postfix"
#define MO_EXPORT_POSTCONF_DEFAULT	 "/usr/sbin/postconf"
/* Largest configuration file read. */
#define MO_EXPORT_CONF_MAX_SIZE (64 * 1024)
/* Longest account name that becomes a file name ("." + name + ".lock" stays well below
 * NAME_MAX). */
#define MO_EXPORT_NAME_MAX 128

/* Exit codes of mailoauth-export-helper, for the CLI that runs it. */
typedef enum {
	MO_EXPORT_HELPER_EXIT_OK = 0,
	MO_EXPORT_HELPER_EXIT_IO = 1,		 /* reading or writing failed */
	MO_EXPORT_HELPER_EXIT_USAGE = 2,	 /* argument count, invalid account name */
	MO_EXPORT_HELPER_EXIT_INVALID_TOKEN = 3, /* the token JSON on stdin */
	MO_EXPORT_HELPER_EXIT_NOT_ROOT = 4,	 /* not running as root */
	MO_EXPORT_HELPER_EXIT_UNSAFE = 5,	 /* symlink, wrong owner, loose mode, hard link */
	MO_EXPORT_HELPER_EXIT_CONFIG = 6,	 /* config file, postconf, mail owner */
	MO_EXPORT_HELPER_EXIT_NO_EXPORT = 7,	 /* remove: nothing was exported */
} MoExportHelperExit;

typedef struct {
	gchar *directory;	 /* postfix's view, as sasl_passwd names it: /etc/sasl-tokens */
	gchar *real_directory;	 /* on disk: inside the queue directory when chrooted */
	gchar *status_directory; /* on disk: real_directory + ".status" */
	gboolean chrooted;	 /* postfix's smtp client runs chrooted in queue_directory */
	gchar *queue_directory;
	gchar *mail_owner;
	uid_t uid; /* of the mail owner */
	gid_t gid;
	gchar *postfix_config; /* the directory given to postconf -c */
} MoExportLayout;

const gchar *mo_export_layout_default_conf(void);
MoExportLayout *mo_export_layout_load(const gchar *conf_path, GError **error);
MoExportLayout *
mo_export_layout_load_full(const gchar *conf_path, const gchar *postconf, GError **error);
void mo_export_layout_free(MoExportLayout *layout);
gchar *mo_export_layout_file(const MoExportLayout *layout, const gchar *account);
gchar *mo_export_layout_postfix_path(const MoExportLayout *layout, const gchar *account);
gboolean mo_export_name_is_valid(const gchar *account, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(MoExportLayout, mo_export_layout_free)

G_END_DECLS
