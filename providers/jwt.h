/* jwt: JSON Web Tokens (RFC 7519) signed with RS256 or ES256.
 *
 * Used to sign the assertions of the OAuth2 JWT-bearer grant (RFC 7523,
 * Google service accounts) and, later, tokens credfs issues itself; the
 * verifier serves the tests and the issuer's self-checks.
 *
 * ES256 signatures are in the JOSE form (RFC 7518 3.4: r || s, 32 bytes
 * each), not DER.  Keys come from PEM text held in secret memory; the
 * signed token is returned in secret memory (it is a bearer credential
 * once sent).
 */
#ifndef CREDFS_JWT_H
#define CREDFS_JWT_H

#include <stdbool.h>
#include <stddef.h>

#include "core/secmem.h"

struct error;
struct cJSON;

enum jwt_alg {
	JWT_RS256 = 1,
	JWT_ES256 = 2,
};

/* A private or public key (opaque; jwt_key_free it). */
struct jwt_key;

/* Parses a PEM private key ("PRIVATE KEY", "RSA PRIVATE KEY" or "EC
 * PRIVATE KEY"): RSA (>= 2048 bits) gives RS256, EC P-256 gives ES256;
 * anything else is -EINVAL.  pem need not be NUL-terminated and is read in
 * place (keep it in secmem).  what names the key in errors ("store entry
 * sa: private_key"); the PEM itself is never quoted. */
int jwt_key_from_pem(const char *pem, size_t len, const char *what,
		     struct jwt_key **out, struct error *e)
    __attribute__((warn_unused_result));
/* The same for a public key ("PUBLIC KEY"), or the public half of a
 * private key in PEM, for jwt_verify. */
int jwt_key_public_from_pem(const char *pem, size_t len, const char *what,
			    struct jwt_key **out, struct error *e)
    __attribute__((warn_unused_result));
void jwt_key_free(struct jwt_key *k);
enum jwt_alg jwt_key_alg(const struct jwt_key *k);
/* "RS256" / "ES256". */
const char *jwt_alg_name(enum jwt_alg alg);

/* Signs {"alg":..,"typ":"JWT"[,"kid":kid]}.claims with k.  claims is
 * serialised as given (not modified).  *out is a NUL-terminated token in
 * secmem (secmem_free it).  kid may be NULL. */
int jwt_sign(const struct jwt_key *k, const char *kid,
	     const struct cJSON *claims, char **out, struct error *e)
    __attribute__((warn_unused_result));
/* jwt_sign with extra header members (a JSON object, may be NULL) after
 * alg, typ and kid, e.g. {"x5t#S256": ...}; one of those three in it is
 * -EINVAL. */
int jwt_sign_ext(const struct jwt_key *k, const char *kid,
		 const struct cJSON *extra_header, const struct cJSON *claims,
		 char **out, struct error *e)
    __attribute__((warn_unused_result));

/* Checks token's signature with k (the header's alg must be k's: no
 * "none", no algorithm switching), then, when now != 0, "exp" (must be
 * present and > now - leeway) and "nbf" (<= now + leeway).  On success
 * *claims (if not NULL) is the parsed payload (cJSON_Delete it) and
 * *header likewise.  -EBADMSG for a malformed token, -EKEYREJECTED for a
 * bad signature, -EKEYEXPIRED for an expired or not-yet-valid one. */
int jwt_verify(const struct jwt_key *k, const char *token, long long now,
	       int leeway, struct cJSON **header, struct cJSON **claims,
	       struct error *e) __attribute__((warn_unused_result));

/* Splits a token without checking its signature, for reading "exp" of a
 * token someone else issued.  -EBADMSG if it is not a JWS compact JWT. */
int jwt_decode_unverified(const char *token, struct cJSON **header,
			  struct cJSON **claims)
    __attribute__((warn_unused_result));

/* Base64url without padding (RFC 7515 2), appended to b. */
int jwt_b64url_encode(struct secbuf *b, const void *data, size_t len)
    __attribute__((warn_unused_result));
/* Decodes base64url (padding and whitespace refused) into b (appended).
 * -EINVAL on any character outside the alphabet or an impossible length. */
int jwt_b64url_decode(struct secbuf *b, const char *s, size_t len)
    __attribute__((warn_unused_result));

#endif
