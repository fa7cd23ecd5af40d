/* login_device: `credfs login PROFILE` for an oauth2 profile with
 * `grant = device_code` (RFC 8628). */
#ifndef CREDFS_LOGIN_DEVICE_H
#define CREDFS_LOGIN_DEVICE_H

struct cli;
struct profile_cfg;

/* Whether login for pc is the device flow. */
int login_device_applies(const struct profile_cfg *pc);
/* Runs the device flow for pc: prints the user code and where to enter
 * it, polls the token endpoint at the server's interval until approved,
 * denied or expired, seals the refresh token in the profile's store entry
 * and asks a running daemon to refresh.  The exit status. */
int login_device(struct cli *cli, const struct profile_cfg *pc);

#endif
