/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "mo-app.h"
#include "mo-json.h"

G_BEGIN_DECLS

/* Default seconds of validity below which a token is refreshed. Exchange rejects tokens
 * about to expire; GNOME Online Accounts also uses ten minutes. */
#define MO_DEFAULT_REFRESH_MARGIN 600

typedef struct {
	gchar *access_token;  /* secret */
	gchar *refresh_token; /* secret */
	gchar *scope;
	gint64 expiry;	     /* absolute, seconds since the epoch; 0 when unknown */
	gint64 last_refresh; /* when mailoauth last refreshed it; 0 when never */
} MoToken;

MoToken *mo_token_new(void);
MoToken *mo_token_copy(const MoToken *token);
void mo_token_free(MoToken *token);
gboolean mo_token_is_fresh(const MoToken *token, gint64 now, gint64 margin);
gint64 mo_token_seconds_left(const MoToken *token, gint64 now);
void mo_token_merge_refresh(MoToken *token, const MoToken *response, gint64 now);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(MoToken, mo_token_free)

/* The keyring item of one account: token plus what it belongs to. */
typedef struct {
	gchar *name; /* what the user names in PassCmd, usually the address */
	gchar *user; /* the SASL login name; defaults to the name */
	gchar *app;
	MoToken *token;
	/* the provider refused the grant (invalid_grant, …): only a new sign-in helps; set by a
	 * failed refresh, gone with the next authorize (a new item) */
	gboolean needs_sign_in;
} MoAccount;

#define MO_ACCOUNT_JSON_VERSION 1

MoAccount *mo_account_new(const gchar *name);
void mo_account_free(MoAccount *account);
MoAccount *mo_account_from_json(const gchar *json, const gchar *name, GError **error);
gchar *mo_account_to_json(const MoAccount *account);
gboolean mo_account_name_is_valid(const gchar *name, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(MoAccount, mo_account_free)

/* A sasl-xoauth2 token file. The parsed document is kept so that keys we do not know
 * survive a rewrite. */
typedef struct {
	MoToken *token;
	gchar *user;
	gchar *client_id;
	gchar *client_secret; /* secret */
	gchar *token_endpoint;
	MoJson *document;
} MoTokenFile;

MoTokenFile *mo_token_file_parse(const gchar *data, gssize len, const gchar *path, GError **error);
gchar *mo_token_file_serialize(MoTokenFile *file);
void mo_token_file_free(MoTokenFile *file);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(MoTokenFile, mo_token_file_free)

G_END_DECLS
