/* oidc_cmd: `credfs oidc jwks|discovery PROFILE` and the oidc-issuer side
 * of `credfs rotate`. */
#ifndef CREDFS_OIDC_CMD_H
#define CREDFS_OIDC_CMD_H

struct cli;
struct profile_cfg;

int cmd_oidc(struct cli *cli, int argc, char **argv);
/* `credfs rotate PROFILE` for an oidc-issuer profile: a new signing key;
 * the old one stays in the JWKS until the last token it signed expires.
 * The exit status. */
int oidc_rotate(struct cli *cli, const struct profile_cfg *pc);

#endif
