/* libFuzzer target for what Google's endpoints and files hand credfs: the
 * OAuth token answer (oauth2.googleapis.com/token, STS token exchange),
 * a service-account key or authorized_user JSON file, a JWT's exp (ID
 * tokens, subject tokens), and RFC 3339 times (IAM expireTime).
 * The first byte picks which. */
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <time.h>

#include "core/util.h"
#include "fuzz_common.h"
#include "providers/gcp/gcp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct error e = {0};
	struct cred *c;
	cJSON *j;
	time_t t, now = time(NULL);
	char *s;
	int r;

	fuzz_init();
	if (size < 1)
		return 0;
	if (!(c = cred_new()))
		return 0;
	switch (data[0] % 4) {
	case 0:
		j = cJSON_ParseWithLength((const char *)data + 1, size - 1);
		if (gcp_oauth_response("token", j, c, &e) == 0) {
			const char *at = cred_get(c, "access_token");
			if (!at || !fuzz_printable(at, false) ||
			    cred_expiration(c) < now + 1 ||
			    cred_expiration(c) > time(NULL) + 7 * 86400 + 1)
				__builtin_trap();
		} else {
			fuzz_check_error(&e);
		}
		cJSON_Delete(j);
		break;
	case 1:
		r = gcp_secret_from_json((const char *)data + 1, size - 1,
					 "key file", c, &e);
		if (r == 0)
			fuzz_check_cred(c);
		else if (r == -EINVAL)
			fuzz_check_error(&e);
		break;
	case 2:
	case 3:
		if (!(s = strndup((const char *)data + 1, size - 1)))
			break;
		if (data[0] % 4 == 2) {
			if (gcp_jwt_exp("id token", s, &t, &e) < 0)
				fuzz_check_error(&e);
		} else if (util_time_parse(s, &t) == 0) {
			char buf[32];
			time_t t2;
			/* what is parsed formats and parses back the same */
			util_time_format(t, buf, sizeof(buf));
			if (util_time_parse(buf, &t2) < 0 || t2 != t)
				__builtin_trap();
		}
		free(s);
		break;
	}
	cred_unref(c);
	return 0;
}
