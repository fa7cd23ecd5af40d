/* SigV4 against AWS's published test suite (service "service", AKIDEXAMPLE,
 * 20150830T123600Z), plus a "sign" mode that prints the Authorization for
 * botocore_crosscheck.py.
 *
 *   test_sigv4                  TAP run of the published vectors
 *   test_sigv4 sign METHOD HOST PATH QUERY BODY AKID SECRET TOKEN REGION
 *                   SERVICE EPOCH [HEADER...]   ("-" for no token)
 */
#include <stdlib.h>
#include <string.h>

#include "providers/aws/sigv4.h"
#include "tests/tap.h"

#define AKID "AKIDEXAMPLE"
#define SECRET "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
#define WHEN 1440938160 /* 2015-08-30T12:36:00Z */
#define PREFIX                                                                 \
	"Authorization: AWS4-HMAC-SHA256 "                                     \
	"Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "

struct vector {
	const char *name;
	const char *method;
	const char *query;
	const char *headers[3];
	const char *body;
	const char *auth;
};

static const struct vector vectors[] = {
    {"get-vanilla",
     "GET",
     NULL,
     {NULL},
     NULL,
     PREFIX "SignedHeaders=host;x-amz-date, "
	    "Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b"
	    "8aae1d763fbf31"},
    {"get-vanilla-query-order-key-case",
     "GET",
     "Param2=value2&Param1=value1",
     {NULL},
     NULL,
     PREFIX "SignedHeaders=host;x-amz-date, "
	    "Signature=b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3"
	    "219ec94cdf2500"},
    {"post-vanilla",
     "POST",
     NULL,
     {NULL},
     NULL,
     PREFIX "SignedHeaders=host;x-amz-date, "
	    "Signature=5da7c1a2acd57cee7505fc6676e4e544621c30862966e37ddd"
	    "b68e92efbe5d6b"},
    {"post-x-www-form-urlencoded",
     "POST",
     NULL,
     {"Content-Type:application/x-www-form-urlencoded", NULL},
     "Param1=value1",
     PREFIX "SignedHeaders=content-type;host;x-amz-date, "
	    "Signature=ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9"
	    "d196a0fe09473a"},
    {"post-x-www-form-urlencoded-parameters",
     "POST",
     NULL,
     {"Content-Type:application/x-www-form-urlencoded; charset=utf8", NULL},
     "Param1=value1",
     PREFIX "SignedHeaders=content-type;host;x-amz-date, "
	    "Signature=1a72ec8f64bd914b0e42e42607c7fbce7fb2c7465f63e3092b"
	    "3b0d39fa77a6fe"},
};

static int sign_mode(int argc, char **argv)
{
	struct sigv4_out out;
	struct sigv4_req r = {
	    .method = argv[2],
	    .host = argv[3],
	    .path = argv[4],
	    .query = argv[5],
	    .headers = (const char *const *)(argv + 13),
	    .body = argv[6],
	    .body_len = strlen(argv[6]),
	    .access_key_id = argv[7],
	    .secret_access_key = argv[8],
	    .session_token = strcmp(argv[9], "-") ? argv[9] : NULL,
	    .region = argv[10],
	    .service = argv[11],
	    .now = (time_t)strtoll(argv[12], NULL, 10),
	};

	if (argc < 13) {
		fprintf(stderr, "usage: see the source\n");
		return 2;
	}
	if (sigv4_sign(&r, &out) < 0) {
		fprintf(stderr, "sign failed\n");
		return 1;
	}
	printf("%s\n%s\n", out.authorization + strlen("Authorization: "),
	       out.amz_date);
	sigv4_out_wipe(&out);
	return 0;
}

int main(int argc, char **argv)
{
	size_t i;

	if (argc > 1 && strcmp(argv[1], "sign") == 0)
		return sign_mode(argc, argv);

	for (i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
		const struct vector *v = &vectors[i];
		struct sigv4_out out;
		struct sigv4_req r = {
		    .method = v->method,
		    .host = "example.amazonaws.com",
		    .path = "/",
		    .query = v->query,
		    .headers = v->headers,
		    .body = v->body,
		    .body_len = v->body ? strlen(v->body) : 0,
		    .region = "us-east-1",
		    .service = "service",
		    .access_key_id = AKID,
		    .secret_access_key = SECRET,
		    .now = WHEN,
		};

		if (!tap_ok(sigv4_sign_debug(&r, &out) == 0, "%s: signs",
			    v->name))
			continue;
		tap_str(out.authorization, v->auth, v->name);
		if (i == 0) {
			/* published get-vanilla.creq and .sts */
			tap_str(out.canonical_request,
				"GET\n/\n\nhost:example.amazonaws.com\n"
				"x-amz-date:20150830T123600Z\n\n"
				"host;x-amz-date\n"
				"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b"
				"934ca495991b7852b855",
				"get-vanilla: canonical request");
			tap_str(out.string_to_sign,
				"AWS4-HMAC-SHA256\n20150830T123600Z\n"
				"20150830/us-east-1/service/aws4_request\n"
				"bb579772317eb040ac9ed261061d46c1f17a8133879d"
				"6129b6e1c25292927e63",
				"get-vanilla: string to sign");
			tap_str(out.date_header, "X-Amz-Date: 20150830T123600Z",
				"get-vanilla: X-Amz-Date header");
			tap_ok(out.security_token_header == NULL,
			       "no token header without a token");
		}
		sigv4_out_wipe(&out);
	}

	/* a session token is signed and sent */
	{
		struct sigv4_out out;
		struct sigv4_req r = {
		    .method = "GET",
		    .host = "example.amazonaws.com",
		    .path = "/",
		    .region = "us-east-1",
		    .service = "service",
		    .access_key_id = AKID,
		    .secret_access_key = SECRET,
		    .session_token = "tok/en+1",
		    .now = WHEN,
		};

		tap_ok(sigv4_sign(&r, &out) == 0 && out.security_token_header &&
			   strcmp(out.security_token_header,
				  "X-Amz-Security-Token: tok/en+1") == 0 &&
			   strstr(out.authorization,
				  "SignedHeaders=host;x-amz-date;"
				  "x-amz-security-token,"),
		       "session token header signed and emitted");
		sigv4_out_wipe(&out);
	}
	/* a different secret changes the signature; a missing one fails */
	{
		struct sigv4_out a, b;
		struct sigv4_req r = {
		    .method = "GET",
		    .host = "example.amazonaws.com",
		    .path = "/",
		    .region = "us-east-1",
		    .service = "service",
		    .access_key_id = AKID,
		    .secret_access_key = SECRET,
		    .now = WHEN,
		};
		int ra = sigv4_sign(&r, &a);

		r.secret_access_key = "x" SECRET;
		tap_ok(ra == 0 && sigv4_sign(&r, &b) == 0 &&
			   strcmp(a.authorization, b.authorization) != 0,
		       "signature depends on the secret");
		r.secret_access_key = "";
		tap_ok(sigv4_sign(&r, &b) < 0, "empty secret refused");
		r.secret_access_key = SECRET;
		r.headers = (const char *const[]){"Bad\nName: x", NULL};
		tap_ok(sigv4_sign(&r, &b) < 0, "header with newline refused");
	}
	return tap_done();
}
