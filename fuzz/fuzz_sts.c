/* libFuzzer target for the STS/IAM Query API response parser.
 *
 * The first byte picks the action and what the parser must find, the rest
 * is the body.  Build with -Dfuzz=true and CC=clang; run
 *   build/fuzz/fuzz-sts fuzz/corpus/sts
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "core/cred.h"
#include "providers/aws/sts.h"
#include "core/provider.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct {
		const char *action;
		enum sts_expect what;
	} kinds[] = {
	    {"AssumeRole", STS_EXPECT_CREDENTIALS},
	    {"AssumeRoleWithWebIdentity", STS_EXPECT_CREDENTIALS},
	    {"GetSessionToken", STS_EXPECT_CREDENTIALS},
	    {"GetCallerIdentity", STS_EXPECT_IDENTITY},
	    {"CreateAccessKey", STS_EXPECT_ACCESS_KEY},
	    {"DeleteAccessKey", STS_EXPECT_NOTHING},
	};
	struct sts_result res;
	struct error e;
	size_t k;
	int r;

	if (size < 1)
		return 0;
	memset(&e, 0, sizeof(e));
	k = data[0] % (sizeof(kinds) / sizeof(kinds[0]));
	r = sts_parse_response(kinds[k].action, kinds[k].what,
			       (const char *)data + 1, size - 1, &res, &e);
	if (r == 0 && kinds[k].what == STS_EXPECT_CREDENTIALS) {
		/* accepted values must be clean single-line strings */
		const char *v[] = {res.access_key_id, res.secret_access_key,
				   res.session_token};
		for (size_t i = 0; i < 3; i++) {
			if (!v[i] || !*v[i])
				__builtin_trap();
			for (const char *p = v[i]; *p; p++)
				if ((unsigned char)*p < 0x20 || *p == 0x7f)
					__builtin_trap();
		}
	}
	if (r < 0 && (!e.msg[0] || strchr(e.msg, '\n')))
		__builtin_trap();
	sts_result_wipe(&res);
	return 0;
}
