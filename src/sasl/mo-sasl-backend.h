/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>
#include <sasl/sasl.h>
#include <sasl/saslplug.h>

G_BEGIN_DECLS

/* Where the access token comes from; the password field decides (see mo_sasl_classify). */
typedef enum {
	MO_SASL_SOURCE_TOKEN,	/* the password is the access token itself */
	MO_SASL_SOURCE_FILE,	/* an absolute path: a sasl-xoauth2 token file */
	MO_SASL_SOURCE_KEYRING, /* empty or "keyring:[ACCOUNT]": an account in the keyring */
} MoSaslSource;

#define MO_SASL_KEYRING_PREFIX "keyring:"

typedef struct {
	gchar *user;
	gchar *password; /* secret */
} MoSaslCredentials;

int mo_sasl_get_credentials(sasl_client_params_t *params,
			    sasl_interact_t **prompt_need,
			    MoSaslCredentials **out);
void mo_sasl_credentials_free(MoSaslCredentials *creds);
MoSaslSource mo_sasl_classify(const gchar *user, const gchar *password, gchar **name);
gchar *mo_sasl_resolve_token(const MoSaslCredentials *creds,
			     MoSaslSource *source,
			     gchar **name,
			     gchar **user,
			     GError **error);
gchar *mo_sasl_describe_rejection(const gchar *user,
				  MoSaslSource source,
				  const gchar *name,
				  const gchar *what);

gboolean mo_sasl_prepare_for_chroot(GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(MoSaslCredentials, mo_sasl_credentials_free)

G_END_DECLS
