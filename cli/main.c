/* credfs: short-lived cloud credentials as files, checked and audited.
 *
 * main only dispatches: global options, then the command table.  Each
 * command group lives in its own file (cli.h lists them).
 */
#include "cli/cli.h"
#include "cli/init_cmd.h"
#include "cli/oidc_cmd.h"
#include "core/config.h"
#include "core/secmem.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>

static const struct cli_cmd cmds[] = {
    {"mount", cmd_mount,
     "mount [-f] MOUNTPOINT       serve the configured "
     "files over MOUNTPOINT"},
    {"umount", cmd_umount,
     "umount [--force] MOUNTPOINT unmount, wiping "
     "secrets in memory"},
    {"demo", cmd_demo, "demo [--duration T] [DIR]   a throw-away mount to try",
     CLI_NO_CONFIG},
    {"init", cmd_init,
     "init [--from FILE] [--credentials FILE] [-o OUT] [--force]\n"
     "                              a config from an existing ~/.aws/config",
     CLI_NO_CONFIG},
    {"check", cmd_check, "check                       validate the config",
     CLI_NO_CONFIG},
    {"status", cmd_status,
     "status [--json]             profiles and files "
     "of the daemon"},
    {"store", cmd_store,
     "store add|list|rm|import-aws|import-gcp|reanchor\n"
     "                              sealed source secrets"},
    {"login", cmd_login,
     "login PROFILE               MFA code or sign-in "
     "for a profile\n"
     "  login --console PROFILE [--print] [--duration T]\n"
     "                              an AWS console sign-in URL"},
    {"refresh", cmd_refresh,
     "refresh PROFILE             fetch a "
     "profile's credential now"},
    {"revoke", cmd_revoke,
     "revoke [--deactivate-source] PROFILE...|--all\n"
     "                              drop cached "
     "credentials"},
    {"lock", cmd_lock,
     "lock | unlock               refuse every open / "
     "serve again"},
    {"unlock", cmd_unlock, NULL},
    {"rotate", cmd_rotate,
     "rotate PROFILE              replace a stored "
     "AWS access key or oidc-issuer signing key"},
    {"audit", cmd_audit,
     "audit verify [--key-file F] | seal | tail [-f] | report [--key ID] "
     "[--since T]"},
    {"exec", cmd_exec,
     "exec PROFILE -- CMD...      run CMD with the "
     "profile's credentials"},
    {"oidc", cmd_oidc,
     "oidc jwks|discovery PROFILE an oidc-issuer's JWKS or discovery "
     "document"},
};

/* Every credfs process may hold a secret (a passphrase typed to `store
 * add`, a key, a credential for `exec`): no core dump, no ptrace or
 * /proc/PID/mem by our own uid, from before main runs.  `exec` restores
 * the core limit for the command it runs (exec_cmd.c). */

__attribute__((constructor(101))) static void cli_harden(void)
{
	struct rlimit none = {0, 0};

	getrlimit(RLIMIT_CORE, &cli_saved_core_limit);
	setrlimit(RLIMIT_CORE, &none);
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
}

static void usage(FILE *f)
{
	fprintf(f, "usage: credfs [-c CONFIG] COMMAND [ARGS]\n\n");
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (cmds[i].usage)
			fprintf(f, "  %s\n", cmds[i].usage);
	fprintf(f, "\nCONFIG defaults to $CREDFS_CONFIG or "
		   "$XDG_CONFIG_HOME/credfs/config.\n");
}

int main(int argc, char **argv)
{
	char *cfgpath = NULL;
	const struct cli_cmd *cmd = NULL;
	struct cli cli = {0};
	int i = 1, r;

	secmem_init_cjson();
	while (i < argc && argv[i][0] == '-') {
		if (!strcmp(argv[i], "-c") && i + 1 < argc) {
			free(cfgpath);
			cfgpath = strdup(argv[i + 1]);
			i += 2;
		} else if (!strcmp(argv[i], "-h") ||
			   !strcmp(argv[i], "--help")) {
			usage(stdout);
			return 0;
		} else {
			usage(stderr);
			return 2;
		}
	}
	if (i >= argc) {
		usage(stderr);
		return 2;
	}
	argc -= i;
	argv += i;
	for (size_t k = 0; k < sizeof(cmds) / sizeof(cmds[0]); k++)
		if (!strcmp(cmds[k].name, argv[0]))
			cmd = &cmds[k];
	if (!cmd) {
		fprintf(stderr, "credfs: %s: unknown command\n", argv[0]);
		usage(stderr);
		free(cfgpath);
		return 2;
	}
	/* -c may also follow the command: `credfs check -c FILE` */
	for (int k = 1; k + 1 < argc; k++) {
		if (!strcmp(argv[k], "--"))
			break;
		if (!strcmp(argv[k], "-c")) {
			free(cfgpath);
			cfgpath = strdup(argv[k + 1]);
			memmove(argv + k, argv + k + 2,
				(size_t)(argc - k - 1) * sizeof(char *));
			argc -= 2;
			break;
		}
	}
	if (!cfgpath)
		cfgpath = config_default_path();
	if (!cfgpath) {
		fprintf(stderr, "credfs: config: %s\n", strerror(ENOMEM));
		return 1;
	}
	cli.cfgpath = cfgpath;
	if (!(cmd->flags & CLI_NO_CONFIG) && (r = cli_load_config(&cli))) {
		free(cfgpath);
		return r;
	}
	r = cmd->fn(&cli, argc, argv);
	config_free(cli.cfg);
	free(cfgpath);
	return r;
}
