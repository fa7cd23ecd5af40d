/* libFuzzer target for OAuth 2.0 token responses (RFC 6749 5.1, also the
 * Azure and OIDC token endpoints) and the unverified JWT decoder used for
 * their exp: any body gives a credential with a printable access_token
 * and an expiration in 1 s .. 1 year, or a one-line error.
 * The first byte picks: even = token response, odd = a JWT. */
#include <cjson/cJSON.h>
#include <time.h>

#include "fuzz_common.h"
#include "providers/jwt.h"
#include "providers/oauth2/oauth2.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct error e = {0};
	struct cred *c;
	const char *refresh = NULL;
	cJSON *j, *h = NULL, *cl = NULL;
	time_t now;
	char *s;

	fuzz_init();
	if (size < 1)
		return 0;
	if (data[0] & 1) {
		if (!(s = strndup((const char *)data + 1, size - 1)))
			return 0;
		if (jwt_decode_unverified(s, &h, &cl) == 0 &&
		    (!cJSON_IsObject(h) || !cJSON_IsObject(cl)))
			__builtin_trap();
		cJSON_Delete(h);
		cJSON_Delete(cl);
		free(s);
		return 0;
	}
	j = cJSON_ParseWithLength((const char *)data + 1, size - 1);
	if (!(c = cred_new())) {
		cJSON_Delete(j);
		return 0;
	}
	now = time(NULL);
	if (oauth_token_response("token endpoint", j, c, &refresh, &e) == 0) {
		const char *at = cred_get(c, "access_token");
		if (!at || !*at || !fuzz_printable(at, false))
			__builtin_trap();
		if (refresh && !fuzz_printable(refresh, false))
			__builtin_trap();
		/* expires_in is bounded; a JWT's exp is taken as it is */
		if (cJSON_GetObjectItemCaseSensitive(j, "expires_in") &&
		    (cred_expiration(c) < now + 1 ||
		     cred_expiration(c) > time(NULL) + 366 * 86400 + 1))
			__builtin_trap();
		fuzz_check_cred(c);
	} else {
		fuzz_check_error(&e);
	}
	cred_unref(c);
	cJSON_Delete(j);
	return 0;
}
