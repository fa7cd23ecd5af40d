/* libFuzzer target for the sealed-file decoder (crypto/sealed.c): any
 * bytes under the right key and name, and any single-byte edit or cut of
 * a genuine sealed file, are refused with a one-line error and never
 * yield plaintext; an untouched file opens to what was sealed.
 * The first byte picks: 0 = the input as a sealed file, 1 = the input
 * sealed and then edited at the position and with the xor the next three
 * bytes give (xor 0: cut there instead), 2 = sealed and opened as another
 * name. */
#include <stdlib.h>

#include "crypto/sealed.h"
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t key[SEALED_KEY_BYTES] = {1, 2, 3, 4, 5, 6, 7, 8};
	struct error e = {0};
	uint8_t *blob = NULL;
	size_t blen, len, pos;
	uint64_t gen;
	char *pt = NULL;
	int r;

	fuzz_init();
	if (size < 1)
		return 0;
	if (data[0] % 3 == 0) {
		r = sealed_open(key, "cache", "prod", data + 1, size - 1, &pt,
				&len, &gen, &e);
		if (r == 0) /* forging a tag: not by chance */
			__builtin_trap();
		fuzz_check_error(&e);
		return 0;
	}
	if (size < 4)
		return 0;
	if (sealed_seal(key, "cache", "prod", 7, data + 4, size - 4, &blob,
			&blen) < 0)
		return 0;
	if (data[0] % 3 == 2) {
		r = sealed_open(key, "cache", "dev", blob, blen, &pt, &len,
				&gen, &e);
	} else {
		pos = ((size_t)data[1] << 8 | data[2]) % blen;
		if (data[3])
			blob[pos] ^= data[3];
		r = sealed_open(key, "cache", "prod", blob, data[3] ? blen : pos,
				&pt, &len, &gen, &e);
	}
	if (r == 0)
		__builtin_trap();
	fuzz_check_error(&e);
	/* the genuine file opens to the plaintext and generation */
	if (data[0] % 3 == 1 && data[3])
		blob[pos] ^= data[3];
	r = sealed_open(key, "cache", "prod", blob, blen, &pt, &len, &gen, &e);
	if (r < 0 || len != size - 4 || gen != 7 ||
	    memcmp(pt, data + 4, len) || pt[len])
		__builtin_trap();
	secmem_free(pt);
	free(blob);
	return 0;
}
