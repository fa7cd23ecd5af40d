/* libFuzzer target for the sealed cache's JSON (a credential as
 * cred_to_json writes it, read back by cred_from_json after the sealed
 * file authenticated): any bytes give a credential or -EBADMSG, and a
 * credential read writes and reads back to the same fields and times. */
#include <stdlib.h>

#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cred *c = NULL, *c2 = NULL;
	char *js;
	size_t len;

	fuzz_init();
	if (cred_from_json((const char *)data, size, &c) < 0)
		return 0;
	fuzz_check_cred(c);
	if (!(js = cred_to_json(c, &len))) {
		cred_unref(c);
		return 0;
	}
	if (cred_from_json(js, len, &c2) < 0)
		__builtin_trap();
	if (cred_count(c2) != cred_count(c) ||
	    cred_expiration(c2) != cred_expiration(c) ||
	    cred_obtained(c2) != cred_obtained(c))
		__builtin_trap();
	for (size_t i = 0; i < cred_count(c); i++) {
		const char *v = cred_get(c2, cred_name_at(c, i));
		if (!v || strcmp(v, cred_value_at(c, i)))
			__builtin_trap();
	}
	secmem_free(js);
	cred_unref(c);
	cred_unref(c2);
	return 0;
}
