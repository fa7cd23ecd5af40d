/* libFuzzer target for the two JSON inputs of the IAM Identity Center
 * provider, each given every input: the GetRoleCredentials answer (AWS
 * credentials whose three values are set, or a one-line error) and the SSO
 * token cache file `aws sso login` writes (a printable token, or a
 * one-line error). */
#include <time.h>

#include "core/secmem.h"
#include "fuzz_common.h"
#include "providers/aws/sso.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct error e = {0};
	struct cred *c = NULL;
	char *tok = NULL;
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

	/* a fixed "now" (2026-01-01) so an input means the same each run */
	memset(&e, 0, sizeof(e));
	r = sso_json_token((const char *)data, size, "cache.json",
			   (time_t)1767225600, &tok, &e);
	if (r == 0) {
		if (!tok || !*tok)
			__builtin_trap();
		for (const char *p = tok; *p; p++)
			if ((unsigned char)*p < 0x21 || *p == 0x7f)
				__builtin_trap();
	} else if (r != -ENOMEM) {
		fuzz_check_error(&e);
	}
	secmem_free(tok);
	return 0;
}
