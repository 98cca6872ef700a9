/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A stand-in for sasl-xoauth2's client plugin (not packaged for Debian 12), for the tests of
 * how libsasl2 chooses between two XOAUTH2 plugins: the same advertised properties as
 * sasl-xoauth2 (max SSF 60, NOANONYMOUS | NOPLAINTEXT | PASS_CREDENTIALS), and a first message
 * that says who sent it ("fake-xoauth2"), so a test sees which plugin libsasl2 used. */
#include <sasl/sasl.h>
#include <sasl/saslplug.h>
#include <string.h>

#define FAKE_MESSAGE "fake-xoauth2"

static int
fake_mech_new(void *glob_context, sasl_client_params_t *params, void **conn_context)
{
	*conn_context = NULL;
	return SASL_OK;
}

static int
fake_mech_step(void *conn_context,
	       sasl_client_params_t *params,
	       const char *serverin,
	       unsigned serverinlen,
	       sasl_interact_t **prompt_need,
	       const char **clientout,
	       unsigned *clientoutlen,
	       sasl_out_params_t *oparams)
{
	int result = params->canon_user(params->utils->conn,
					"fake",
					0,
					SASL_CU_AUTHID | SASL_CU_AUTHZID,
					oparams);

	if (result != SASL_OK)
		return result;
	*clientout = FAKE_MESSAGE;
	*clientoutlen = (unsigned)strlen(FAKE_MESSAGE);
	oparams->doneflag = 1;
	oparams->mech_ssf = 0;
	return SASL_OK;
}

static void
fake_mech_dispose(void *conn_context, const sasl_utils_t *utils)
{
}

static sasl_client_plug_t fake_plugins[] = {{
	"XOAUTH2",
	60,
	SASL_SEC_NOANONYMOUS | SASL_SEC_NOPLAINTEXT | SASL_SEC_PASS_CREDENTIALS,
	SASL_FEAT_WANT_CLIENT_FIRST | SASL_FEAT_ALLOWS_PROXY,
	NULL,
	NULL,
	fake_mech_new,
	fake_mech_step,
	fake_mech_dispose,
	NULL,
	NULL,
	NULL,
	NULL,
}};

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
	*out_version = SASL_CLIENT_PLUG_VERSION;
	*pluglist = fake_plugins;
	*plugcount = 1;
	return SASL_OK;
}
