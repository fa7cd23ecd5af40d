/* libFuzzer target for credential_process output: any bytes give a
 * credential whose every value is a string, or an error message that is
 * one line. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "core/secmem.h"
#include "core/cred.h"
#include "providers/exec.h"
#include "core/provider.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int init;
	struct cred *c = NULL;
	struct error e = {0};

	if (!init++)
		secmem_init_cjson();
	if (exec_parse_output((const char *)data, size, &c, &e) == 0) {
		for (size_t i = 0; i < cred_count(c); i++)
			if (!cred_value_at(c, i) || !cred_name_at(c, i))
				__builtin_trap();
		cred_unref(c);
	} else if (strchr(e.msg, '\n')) {
		__builtin_trap();
	}
	return 0;
}
