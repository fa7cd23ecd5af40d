/* oidc-issuer: credfs as an OpenID Connect issuer of workload tokens.
 *
 *   [profile wl]
 *   provider = oidc-issuer
 *   issuer = https://credfs.example.com   # iss; the JWKS and discovery
 *   audience = sts.amazonaws.com          #   document are hosted there
 *   subject = host1/{profile}             # sub; {profile} replaced
 *   lifetime = 15m                        # exp - iat (1m .. 24h)
 *   alg = ES256                           # or RS256
 *   key = oidc-wl                         # store entry (default oidc-NAME)
 *
 * The signing key is generated into the store entry on first use.  Entry
 * fields: alg, kid (RFC 7638 thumbprint), private_key (PEM) for the
 * current key; for each retired key, old.KID (public PEM) and
 * old.KID.until (Unix time after which no token it signed is valid).
 * The JWKS lists the current key and every retired one until then.
 */
#ifndef CREDFS_OIDC_ISSUER_H
#define CREDFS_OIDC_ISSUER_H

struct cfg_section;
struct error;
struct store;

/* `credfs oidc jwks PROFILE`: {"keys": [...]} (malloc'd); creates the
 * key if the entry has none. */
int oidc_issuer_jwks(struct store *st, const char *profile_name,
		     const struct cfg_section *profile, char **json,
		     struct error *e) __attribute__((warn_unused_result));
/* `credfs oidc discovery PROFILE`: the openid-configuration document
 * (malloc'd); jwks_uri is `jwks_uri =` or ISSUER/.well-known/jwks.json. */
int oidc_issuer_discovery(const char *profile_name,
			  const struct cfg_section *profile, char **json,
			  struct error *e) __attribute__((warn_unused_result));
/* `credfs rotate PROFILE`: a new current key; the old one is kept (public
 * half) for lifetime + 5 min; retired keys past that are dropped. */
int oidc_issuer_rotate(struct store *st, const char *profile_name,
		       const struct cfg_section *profile, struct error *e)
    __attribute__((warn_unused_result));

#endif
