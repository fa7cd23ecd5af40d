/* libFuzzer target for SigV4 canonicalisation (providers/aws/sigv4.c):
 * the query string (percent-decoded, re-encoded the AWS way, sorted) and
 * the extra header lines.  The input's first line is the query, the next
 * lines (up to 8) are headers.  Any input signs or is refused; a signed
 * canonical query holds only unreserved characters, %XX, '=' and '&', and
 * is its own canonical form (signing with it gives it back). */
#include <ctype.h>
#include <stdlib.h>

#include "fuzz_common.h"
#include "providers/aws/sigv4.h"

/* The third line of the canonical request, malloc'd. */
static char *query_of(const char *creq)
{
	const char *a = strchr(creq, '\n'), *b, *c;

	if (!a || !(b = strchr(a + 1, '\n')) || !(c = strchr(b + 1, '\n')))
		__builtin_trap();
	return strndup(b + 1, (size_t)(c - b - 1));
}

static int sign(const char *query, const char *const *headers,
		struct sigv4_out *out)
{
	struct sigv4_req req = {
	    .method = "POST",
	    .host = "sts.amazonaws.com",
	    .path = "/",
	    .query = query,
	    .headers = headers,
	    .body = "Action=GetCallerIdentity&Version=2011-06-15",
	    .body_len = 43,
	    .region = "us-east-1",
	    .service = "sts",
	    .access_key_id = "AKIDEXAMPLE",
	    .secret_access_key = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
	    .now = 1440938160,
	};
	return sigv4_sign_debug(&req, out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sigv4_out out, out2;
	const char *hdr[9];
	char *buf, *p, *q = NULL, *q2 = NULL;
	size_t nh = 0;

	if (!(buf = strndup((const char *)data, size)))
		return 0;
	if ((p = strchr(buf, '\n'))) {
		*p++ = 0;
		while (p && nh < 8) {
			hdr[nh++] = p;
			if ((p = strchr(p, '\n')))
				*p++ = 0;
		}
	}
	hdr[nh] = NULL;
	if (sign(buf, hdr, &out) == 0) {
		q = query_of(out.canonical_request);
		for (const char *c = q; c && *c; c++)
			if (!isalnum((unsigned char)*c) && !strchr("-_.~%=&", *c))
				__builtin_trap();
		if (q && sign(q, NULL, &out2) == 0) {
			q2 = query_of(out2.canonical_request);
			if (q2 && strcmp(q, q2))
				__builtin_trap();
			sigv4_out_wipe(&out2);
		} else if (q) {
			__builtin_trap(); /* its own canonical form is refused */
		}
	}
	sigv4_out_wipe(&out);
	free(q);
	free(q2);
	free(buf);
	return 0;
}
