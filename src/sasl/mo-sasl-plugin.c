/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <sasl/sasl.h>
#include <sasl/saslplug.h>
#include <string.h>

#include "mo-error.h"
#include "mo-sasl-backend.h"
#include "mo-sasl-format.h"
#include "mo-secure.h"

/* The Cyrus SASL client plugin: XOAUTH2 and OAUTHBEARER for every SASL client on the machine
 * (mbsync, postfix, …), with the token from the password field: an access token, a token file
 * or the keyring (see mo-sasl-backend.c). One exported symbol, sasl_client_plug_init.
 *
 * The plugin is a guest in its host's process (postfix's smtp, mbsync, …) and must not change
 * that process: no signal handlers, no rlimits, no prctl(), no umask, no chdir. In particular
 * it does not disable core dumps as the mailoauth CLI does (src/cli/main.c), though tokens pass
 * through its memory: whether the host may dump core is the host's and the admin's decision
 * (postfix's daemons, for one, rely on their own settings). What it can do for its secrets
 * within its own memory, it does: the buffers it owns are wiped before they are freed. */

/* libsasl2 2.1.28 sorts same-named mechanisms by mech_compare() (lib/client.c): the security
 * flags first, then max_ssf, then hash strength, and keeps ties in load order; the first
 * that fits is used. NOANONYMOUS|NOPLAINTEXT make it prefer this plugin to Debian's
 * kdexoauth2 (which declares neither) and keep the mechanism visible under postfix's default
 * smtp_sasl_security_options. Max SSF 60 is what sasl-xoauth2 advertises: with less this
 * plugin would lose to it outright; with it the two tie, and libsasl2 takes the one it loaded
 * first — "mailoauth doctor" tells the user which. (It is no security layer: mech_ssf is 0.) */
#define MO_SASL_MAX_SSF 60
#define MO_SASL_SECURITY_FLAGS                                                                     \
	(SASL_SEC_NOANONYMOUS | SASL_SEC_NOPLAINTEXT | SASL_SEC_PASS_CREDENTIALS)
#define MO_SASL_FEATURES (SASL_FEAT_WANT_CLIENT_FIRST | SASL_FEAT_ALLOWS_PROXY)

typedef enum {
	MO_MECH_XOAUTH2,
	MO_MECH_OAUTHBEARER,
} MoMech;

typedef struct {
	MoMech mech;
	guint step;
	gchar *out; /* the last response; holds the token, wiped on dispose */
	gsize out_len;
	gchar *user;
	MoSaslSource source;
	gchar *source_name; /* account or file, for messages */
} MoSaslConn;

static const unsigned long mo_sasl_required_prompts[] = {
	SASL_CB_AUTHNAME,
	SASL_CB_PASS,
	SASL_CB_LIST_END,
};

static int
mo_sasl_mech_new(void *glob_context, sasl_client_params_t *params, void **conn_context)
{
	MoSaslConn *conn = g_new0(MoSaslConn, 1);

	conn->mech = GPOINTER_TO_INT(glob_context);
	*conn_context = conn;
	return SASL_OK;
}

static void
mo_sasl_conn_clear_out(MoSaslConn *conn)
{
	mo_secure_wipe(conn->out, conn->out_len);
	g_clear_pointer(&conn->out, g_free);
	conn->out_len = 0;
}

static void
mo_sasl_mech_dispose(void *conn_context, const sasl_utils_t *utils)
{
	MoSaslConn *conn = conn_context;

	if (conn == NULL)
		return;
	mo_sasl_conn_clear_out(conn);
	g_free(conn->user);
	g_free(conn->source_name);
	g_free(conn);
}

/* The user's name for messages and the log: never the password, which may be a token. */
static int
mo_sasl_fail(sasl_client_params_t *params, int result, const gchar *message)
{
	/* it may quote a server or a provider, and ends up in the mail program's log */
	g_autofree gchar *shown = mo_text_escape(message);

	params->utils->seterror(params->utils->conn, 0, "mailoauth: %s", shown);
	return result;
}

/* doneflag stays 0 here: libsasl2 refuses any further step once it is set, and a server that
 * rejects the token still sends its error challenge as one. */
static void
mo_sasl_set_oparams(sasl_client_params_t *params, sasl_out_params_t *oparams)
{
	oparams->mech_ssf = 0;
	oparams->maxoutbuf = 0;
	oparams->encode_context = NULL;
	oparams->encode = NULL;
	oparams->decode_context = NULL;
	oparams->decode = NULL;
	oparams->param_version = 0;
}

/* The server's port, from libsasl2's "addr;port" form of ipremoteport. */
static guint
mo_sasl_remote_port(sasl_client_params_t *params)
{
	const gchar *sep = params->ipremoteport != NULL ? strrchr(params->ipremoteport, ';') : NULL;
	guint64 port = 0;

	if (sep == NULL || !g_ascii_string_to_unsigned(sep + 1, 10, 1, 65535, &port, NULL))
		return 0;
	return (guint)port;
}

static void
mo_sasl_build_response(MoSaslConn *conn, sasl_client_params_t *params, const gchar *token)
{
	mo_sasl_conn_clear_out(conn);
	if (conn->mech == MO_MECH_XOAUTH2)
		conn->out = mo_sasl_xoauth2_response(conn->user, token, &conn->out_len);
	else
		conn->out = mo_sasl_oauthbearer_response(conn->user,
							 params->serverFQDN,
							 mo_sasl_remote_port(params),
							 token,
							 &conn->out_len);
}

/* Step 0 (sasl_client_start): everything that can fail on our side — credentials, the
 * token, a refresh — but no initial response. Clients print the whole failed command on a
 * refusal (mbsync: "IMAP command 'AUTHENTICATE XOAUTH2 <base64>' returned an error"), so a
 * token sent as an initial response ends up in their logs; sent as the answer to the
 * server's empty challenge, it does not. */
static int
mo_sasl_step_prepare(MoSaslConn *conn,
		     sasl_client_params_t *params,
		     sasl_interact_t **prompt_need,
		     sasl_out_params_t *oparams)
{
	g_autoptr(MoSaslCredentials) creds = NULL;
	g_autoptr(GError) error = NULL;
	g_autofree gchar *file_user = NULL;
	mo_autosecret gchar *token = NULL;
	int result;

	result = mo_sasl_get_credentials(params, prompt_need, &creds);
	if (result != SASL_OK)
		return result;
	token = mo_sasl_resolve_token(creds, &conn->source, &conn->source_name, &file_user, &error);
	if (token == NULL)
		return mo_sasl_fail(params, SASL_FAIL, error->message);
	/* as sasl-xoauth2 does: a token file's user is the one that logs in */
	conn->user = file_user != NULL ? g_steal_pointer(&file_user) : g_strdup(creds->user);
	result = params->canon_user(params->utils->conn,
				    conn->user,
				    0,
				    SASL_CU_AUTHID | SASL_CU_AUTHZID,
				    oparams);
	if (result != SASL_OK)
		return result;
	mo_sasl_build_response(conn, params, token);
	mo_sasl_set_oparams(params, oparams);
	return SASL_CONTINUE;
}

/* Step 1: the server's empty challenge; the answer is the prepared response. */
static int
mo_sasl_step_respond(MoSaslConn *conn, sasl_client_params_t *params, unsigned serverinlen)
{
	if (serverinlen != 0)
		return mo_sasl_fail(params,
				    SASL_BADPROT,
				    "the server sent a challenge before the client's response");
	return SASL_CONTINUE;
}

/* Step 2: only a refusal comes here (success ends the exchange at the protocol level). The
 * server wants one more message before it says NO: an empty one for XOAUTH2, a lone ^A for
 * OAUTHBEARER (RFC 7628 §3.2.3); then the client logs the server's own text. */
static int
mo_sasl_step_challenge(MoSaslConn *conn,
		       sasl_client_params_t *params,
		       const gchar *serverin,
		       unsigned serverinlen,
		       sasl_out_params_t *oparams)
{
	g_autofree gchar *what = NULL;
	g_autofree gchar *message = NULL;

	if (serverinlen > MO_SASL_CHALLENGE_MAX)
		return mo_sasl_fail(params,
				    SASL_BADPROT,
				    "the server sent an oversized challenge; refusing it");
	what = mo_sasl_describe_challenge(serverin, serverinlen);
	message = mo_sasl_describe_rejection(conn->user, conn->source, conn->source_name, what);
	mo_sasl_conn_clear_out(conn);
	conn->out = g_strdup(conn->mech == MO_MECH_XOAUTH2 ? "" : "\001");
	conn->out_len = strlen(conn->out);
	mo_sasl_fail(params, SASL_FAIL, message);
	oparams->doneflag = 1;
	return SASL_CONTINUE;
}

static int
mo_sasl_mech_step(void *conn_context,
		  sasl_client_params_t *params,
		  const char *serverin,
		  unsigned serverinlen,
		  sasl_interact_t **prompt_need,
		  const char **clientout,
		  unsigned *clientoutlen,
		  sasl_out_params_t *oparams)
{
	MoSaslConn *conn = conn_context;
	int result;

	*clientout = NULL;
	*clientoutlen = 0;
	switch (conn->step) {
	case 0:
		result = mo_sasl_step_prepare(conn, params, prompt_need, oparams);
		if (result != SASL_CONTINUE)
			return result;
		conn->step++;
		/* From sasl_client_start (serverin NULL): nothing to send yet. A client that
		 * started without asking for an initial response (mbsync, when the server lacks
		 * SASL-IR) comes here with the server's empty challenge: answer it now. */
		if (serverin == NULL)
			return SASL_CONTINUE;
		result = mo_sasl_step_respond(conn, params, serverinlen);
		break;
	case 1:
		result = mo_sasl_step_respond(conn, params, serverinlen);
		break;
	case 2:
		/* after the server's success, some clients (mbsync) step once more with nothing */
		if (serverinlen == 0) {
			oparams->doneflag = 1;
			return SASL_OK;
		}
		result = mo_sasl_step_challenge(conn, params, serverin, serverinlen, oparams);
		break;
	default:
		return mo_sasl_fail(params, SASL_BADPROT, "unexpected extra challenge");
	}
	if (result != SASL_CONTINUE)
		return result;
	conn->step++;
	*clientout = conn->out;
	*clientoutlen = (unsigned)conn->out_len;
	return SASL_CONTINUE;
}

/* Both mechanisms share the code; glob_context says which one it is. */
static sasl_client_plug_t mo_sasl_plugins[] = {
	{
		"XOAUTH2",			  /* mech_name */
		MO_SASL_MAX_SSF,		  /* max_ssf */
		MO_SASL_SECURITY_FLAGS,		  /* security_flags */
		MO_SASL_FEATURES,		  /* features */
		mo_sasl_required_prompts,	  /* required_prompts */
		GINT_TO_POINTER(MO_MECH_XOAUTH2), /* glob_context */
		mo_sasl_mech_new,
		mo_sasl_mech_step,
		mo_sasl_mech_dispose,
		NULL, /* mech_free */
		NULL, /* idle */
		NULL, /* spare_fptr1 */
		NULL, /* spare_fptr2 */
	},
	{
		"OAUTHBEARER",
		MO_SASL_MAX_SSF,
		MO_SASL_SECURITY_FLAGS,
		MO_SASL_FEATURES,
		mo_sasl_required_prompts,
		GINT_TO_POINTER(MO_MECH_OAUTHBEARER),
		mo_sasl_mech_new,
		mo_sasl_mech_step,
		mo_sasl_mech_dispose,
		NULL,
		NULL,
		NULL,
		NULL,
	},
};

/* Kept cheap: libsasl2 calls it for every process that initialises SASL, and again after it
 * unloads and reloads the plugin. Nothing here allocates or registers anything. */
int sasl_client_plug_init(const sasl_utils_t *utils,
			  int max_version,
			  int *out_version,
			  sasl_client_plug_t **pluglist,
			  int *plugcount);

int
sasl_client_plug_init(const sasl_utils_t *utils,
		      int max_version,
		      int *out_version,
		      sasl_client_plug_t **pluglist,
		      int *plugcount)
{
	g_autoptr(GError) error_local = NULL;

	if (max_version < SASL_CLIENT_PLUG_VERSION) {
		utils->seterror(utils->conn,
				0,
				"mailoauth: libsasl2 offers client plugin API %d, need %d",
				max_version,
				SASL_CLIENT_PLUG_VERSION);
		return SASL_BADVERS;
	}
	if (!mo_sasl_prepare_for_chroot(&error_local)) {
		/* not fatal: outside a chroot libcurl still finds its certificates */
		utils->log(NULL,
			   SASL_LOG_WARN,
			   "mailoauth: cannot read the CA certificates before a chroot: %s",
			   error_local->message);
	}
	*out_version = SASL_CLIENT_PLUG_VERSION;
	*pluglist = mo_sasl_plugins;
	*plugcount = G_N_ELEMENTS(mo_sasl_plugins);
	return SASL_OK;
}
