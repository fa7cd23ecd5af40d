/* console: `credfs login --console PROFILE [--print] [--duration T]`, the
 * AWS console sign-in for a profile's session, as `aws-vault login` does.
 *
 * The session (from the daemon, or fetched here through the sealed cache
 * when none runs, audited as an `exec`) is exchanged at the federation
 * endpoint's getSigninToken for a sign-in token; the printed (or opened)
 * URL carries that token, never the session's secret key or token.
 */
#ifndef CREDFS_CLI_CONSOLE_H
#define CREDFS_CLI_CONSOLE_H

struct cli;

/* argv is cmd_login's (argv[0] "login", "--console" somewhere in it).
 * Returns the exit status. */
int console_login(struct cli *cli, int argc, char **argv);

#endif
