/* fuzz_common.h: what the libFuzzer targets share (fuzz/ only). */
#ifndef CREDFS_FUZZ_COMMON_H
#define CREDFS_FUZZ_COMMON_H

#include <stdbool.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>

#include "core/cred.h"
#include "core/error.h"
#include "core/secmem.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* cJSON allocates from secret memory, as in the daemon. */
static inline void fuzz_init(void)
{
	static bool done;

	if (!done) {
		secmem_init_cjson();
		done = true;
	}
}

/* An error message is set and is one line. */
static inline void fuzz_check_error(const struct error *e)
{
	if (!e->msg[0] || strchr(e->msg, '\n'))
		__builtin_trap();
}

/* Every field of an accepted credential has a name and a value.  (A name
 * may be empty: JSON allows "" as a member name, and names reach a file
 * only through the JSON encoder or as configured.) */
static inline void fuzz_check_cred(const struct cred *c)
{
	for (size_t i = 0; i < cred_count(c); i++)
		if (!cred_value_at(c, i) || !cred_name_at(c, i))
			__builtin_trap();
}

/* Printable ASCII only (what a token field may hold). */
static inline bool fuzz_printable(const char *s, bool spaces)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e ||
		    (*s == ' ' && !spaces))
			return false;
	return true;
}

#endif
