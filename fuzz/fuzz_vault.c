/* libFuzzer target for Vault's JSON envelopes: a secret read (KV v1, KV v2,
 * dynamic engines; every field of data, or a field list) and a login's
 * auth block.  Any body gives a credential or a one-line error.
 * The first byte picks: 0-2 the KV version for a read of every field,
 * 3-5 the same with a field list, 6 the auth block.  Every body is also
 * read as a sys/leases/renew answer for a held lease: a credential that
 * keeps the lease's fields and ends after "now" (and not after the token's
 * end when one is given), or a one-line error. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <time.h>

#include "fuzz_common.h"
#include "providers/vault/vault.h"
#include "providers/vault/vault_json.h"

/* j as the answer to renewing a lease held in a two-field credential. */
static void renew_answer(const cJSON *j, bool token_capped)
{
	const time_t now = 1767225600, token_end = now + 60;
	struct error e = {0};
	struct cred *held = cred_new(), *n = NULL;
	int r;

	if (!held || cred_set(held, "password", "p") < 0 ||
	    cred_set(held, "lease_id", "database/creds/ro/x") < 0) {
		cred_unref(held);
		return;
	}
	r = vault_json_renew(j, held, 3600, token_capped ? token_end : 0, now,
			     &n, &e);
	if (r >= 0) {
		if (r > 1 || !n || cred_expiration(n) <= now ||
		    (token_capped && cred_expiration(n) > token_end) ||
		    !cred_get(n, "password") || !cred_get(n, "lease_id"))
			__builtin_trap();
		fuzz_check_cred(n);
		cred_unref(n);
	} else if (r != -ENOMEM) {
		fuzz_check_error(&e);
	}
	cred_unref(held);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char in0[] = "password", in1[] = "username", in2[] = "key";
	static char out0[] = "secret", out1[] = "user", out2[] = "k";
	struct vault_cfg c;
	struct error e = {0};
	struct cred *cr = NULL;
	cJSON *j;
	unsigned k;

	fuzz_init();
	if (size < 1)
		return 0;
	k = data[0] % 7;
	j = cJSON_ParseWithLength((const char *)data + 1, size - 1);
	renew_answer(j, data[0] >= 128);
	if (k == 6) {
		char *tok = NULL;
		int ttl;
		bool ren;
		if (vault_json_auth(j, &tok, &ttl, &ren, &e) == 0) {
			if (!tok || !*tok || ttl < 0)
				__builtin_trap();
		} else {
			fuzz_check_error(&e);
		}
		secmem_free(tok);
		cJSON_Delete(j);
		return 0;
	}
	memset(&c, 0, sizeof(c));
	snprintf(c.api_path, sizeof(c.api_path), "secret/data/app");
	c.kv_version = (int)(k % 3);
	c.refresh_interval = 300;
	if (k >= 3) {
		c.nfields = 3;
		c.field_in[0] = in0, c.field_out[0] = out0;
		c.field_in[1] = in1, c.field_out[1] = out1;
		c.field_in[2] = in2, c.field_out[2] = out2;
	}
	if (vault_json_secret(&c, j, &cr, &e) == 0) {
		if (!cr || !cred_count(cr))
			__builtin_trap();
		fuzz_check_cred(cr);
		cred_unref(cr);
	} else {
		fuzz_check_error(&e);
	}
	cJSON_Delete(j);
	return 0;
}
