/* libFuzzer target for the IAM Identity Center GetRoleCredentials answer:
 * any body gives AWS credentials whose three values are set, or a
 * one-line error. */
#include "fuzz_common.h"
#include "providers/aws/sso.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct error e = {0};
	struct cred *c = NULL;
	int r;

	fuzz_init();
	r = sso_json_role_credentials((const char *)data, size, &c, &e);
	if (r == 0) {
		if (!cred_get(c, "access_key_id") ||
		    !cred_get(c, "secret_access_key") ||
		    !cred_get(c, "session_token"))
			__builtin_trap();
		fuzz_check_cred(c);
		cred_unref(c);
	} else if (r != -ENOMEM) {
		fuzz_check_error(&e);
	}
	return 0;
}
