/* libFuzzer target for what Azure answers: a Key Vault secret
 * ({value, attributes}) and the managed-identity / Entra ID token answer
 * (expires_in as a number or, from IMDS, a string).  Any body gives a
 * credential or a one-line error.  The first byte picks: even = Key Vault,
 * odd = token. */
#include <cjson/cJSON.h>
#include <time.h>

#include "fuzz_common.h"
#include "providers/azure/azure.h"
#include "providers/oauth2/oauth2.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct error e = {0};
	struct cred *c = NULL;
	time_t now = time(NULL);
	cJSON *j;
	int r;

	fuzz_init();
	if (size < 1)
		return 0;
	j = cJSON_ParseWithLength((const char *)data + 1, size - 1);
	if (data[0] & 1) {
		if (!(c = cred_new())) {
			cJSON_Delete(j);
			return 0;
		}
		r = oauth_token_response("managed identity", j, c, NULL, &e);
		if (r == 0 && !cred_get(c, "access_token"))
			__builtin_trap();
	} else {
		r = az_kv_answer("Key Vault secret s", j, 3600, now, &c, &e);
		if (r == 0 && (!c || !cred_get(c, "value") ||
			       cred_expiration(c) <= now ||
			       cred_expiration(c) > now + 3600))
			__builtin_trap();
	}
	if (r == 0)
		fuzz_check_cred(c);
	else if (r != -ENOMEM)
		fuzz_check_error(&e);
	cred_unref(c);
	cJSON_Delete(j);
	return 0;
}
