/* credfs: short-lived cloud credentials as files, checked and audited. */
#include "providers/registry.h"
#include "cli/commands.h"
#include "core/config.h"
#include "access/audit.h"
#include "cli/aws_cmd.h"
#include "daemon/daemon.h"
#include "core/secmem.h"
#include "crypto/store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void usage(FILE *f)
{
	fprintf(
	    f,
	    "usage: credfs [-c CONFIG] COMMAND [ARGS]\n"
	    "\n"
	    "  mount [-f] MOUNTPOINT       serve the configured files over "
	    "MOUNTPOINT\n"
	    "  umount MOUNTPOINT           unmount, wiping secrets in memory\n"
	    "  demo [--duration T] [DIR]   a throw-away mount to try\n"
	    "  check                       validate the config\n"
	    "  status [--json]             profiles and files of the daemon\n"
	    "  store add|list|rm|import-aws  sealed source secrets\n"
	    "  login PROFILE               MFA code or sign-in for a profile\n"
	    "  refresh PROFILE             fetch a profile's credential now\n"
	    "  revoke [--deactivate-source] PROFILE...|--all\n"
	    "                              drop cached credentials\n"
	    "  lock | unlock               refuse every open / serve again\n"
	    "  rotate PROFILE              replace a stored AWS access key\n"
	    "  audit verify|tail [-f]|report [--key ID] [--since T]\n"
	    "  exec PROFILE -- CMD...      run CMD with the profile's "
	    "credentials\n"
	    "\n"
	    "CONFIG defaults to $CREDFS_CONFIG or "
	    "$XDG_CONFIG_HOME/credfs/config.\n");
}

typedef int (*cmd_fn)(struct config *cfg, int argc, char **argv);

static const struct {
	const char *name;
	cmd_fn fn;
} cmds[] = {
    {"status", cmd_status}, {"lock", cmd_lock},	  {"unlock", cmd_unlock},
    {"revoke", cmd_revoke}, {"login", cmd_login}, {"refresh", cmd_refresh},
    {"audit", cmd_audit},   {"exec", cmd_exec},	  {"store", NULL},
    {"mount", NULL},	    {"umount", NULL},	  {"rotate", aws_cmd_rotate},
};

static int load(const char *path, struct config **cfg)
{
	struct diag d = {0};
	int r = config_load(path, providers_all, cfg, &d);
	for (size_t i = 0; i < d.n; i++)
		fprintf(stderr, "%s\n", d.msgs[i]);
	diag_free(&d);
	if (r < 0) {
		config_free(*cfg);
		*cfg = NULL;
		return 2;
	}
	return 0;
}

int main(int argc, char **argv)
{
	char *cfgpath = NULL;
	struct config *cfg = NULL;
	int i = 1, r;

	secmem_init_cjson();
	while (i < argc && argv[i][0] == '-') {
		if (!strcmp(argv[i], "-c") && i + 1 < argc) {
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
	const char *cmd = argv[i];
	argc -= i;
	argv += i;
	if (!strcmp(cmd, "demo"))
		return cmd_demo(NULL, argc, argv);
	if (!cfgpath)
		cfgpath = config_default_path();
	/* -c may also follow the command: `credfs check -c FILE` */
	for (int k = 1; k + 1 < argc; k++) {
		if (!strcmp(argv[k], "-c")) {
			free(cfgpath);
			cfgpath = strdup(argv[k + 1]);
			memmove(argv + k, argv + k + 2,
				(size_t)(argc - k - 1) * sizeof(char *));
			argc -= 2;
			break;
		}
		if (!strcmp(argv[k], "--"))
			break;
	}
	if (!strcmp(cmd, "check")) {
		r = cmd_check(cfgpath);
		free(cfgpath);
		return r;
	}
	size_t k;
	for (k = 0; k < sizeof(cmds) / sizeof(cmds[0]); k++)
		if (!strcmp(cmds[k].name, cmd))
			break;
	if (k == sizeof(cmds) / sizeof(cmds[0])) {
		fprintf(stderr, "credfs: unknown command '%s'\n", cmd);
		usage(stderr);
		free(cfgpath);
		return 2;
	}
	if ((r = load(cfgpath, &cfg)) != 0) {
		free(cfgpath);
		return r;
	}
	free(cfgpath);
	if (!strcmp(cmd, "mount")) {
		bool fg = false;
		const char *mp = NULL;
		for (int j = 1; j < argc; j++) {
			if (!strcmp(argv[j], "-f"))
				fg = true;
			else if (!mp)
				mp = argv[j];
			else
				mp = NULL, j = argc;
		}
		if (!mp) {
			fprintf(stderr, "usage: credfs mount [-f] [-c CONFIG] "
					"MOUNTPOINT\n");
			r = 2;
		} else {
			r = daemon_mount(cfg, mp, fg);
		}
	} else if (!strcmp(cmd, "umount")) {
		if (argc != 2) {
			fprintf(stderr, "usage: credfs umount MOUNTPOINT\n");
			r = 2;
		} else {
			r = daemon_umount(cfg, argv[1]);
		}
	} else if (!strcmp(cmd, "store")) {
		if (argc < 2) {
			fprintf(stderr,
				"usage: credfs store add NAME [FIELD...] "
				"| list | rm NAME | import-aws [FILE]\n");
			r = 2;
		} else {
			/* `store add` and `rm` are audited like the daemon's
			 * events; the log takes writers from several
			 * processes. */
			struct audit *a = NULL;
			char err[256];
			if (strcmp(argv[1], "list") &&
			    audit_open(cfg->audit_log, AUDIT_SYNC_ALWAYS, &a,
				       err, sizeof(err)) < 0)
				fprintf(stderr, "credfs: audit log %s: %s\n",
					cfg->audit_log, err);
			daemon_audit_store_events(a);
			r = store_cmd(cfg, argc - 1, argv + 1);
			daemon_audit_store_events(NULL);
			audit_close(a);
		}
	} else {
		r = cmds[k].fn(cfg, argc, argv);
	}
	config_free(cfg);
	return r;
}
