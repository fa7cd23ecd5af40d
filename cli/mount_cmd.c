/* mount_cmd: `credfs mount` and `credfs umount` (the work is in
 * daemon/daemon.c). */
#include "cli/cli.h"
#include "daemon/daemon.h"

#include <stdbool.h>
#include <string.h>

int cmd_mount(struct cli *cli, int argc, char **argv)
{
	const char *mp = NULL;
	bool fg = false;

	for (int j = 1; j < argc; j++) {
		if (!strcmp(argv[j], "-f"))
			fg = true;
		else if (!mp && argv[j][0] != '-')
			mp = argv[j];
		else
			return cli_usage("mount [-f] [-c CONFIG] MOUNTPOINT");
	}
	if (!mp)
		return cli_usage("mount [-f] [-c CONFIG] MOUNTPOINT");
	return daemon_mount(cli->cfg, mp, fg);
}

int cmd_umount(struct cli *cli, int argc, char **argv)
{
	const char *mp = NULL;
	bool force = false;

	for (int j = 1; j < argc; j++) {
		if (!strcmp(argv[j], "--force") || !strcmp(argv[j], "-f"))
			force = true;
		else if (!mp && argv[j][0] != '-')
			mp = argv[j];
		else
			return cli_usage("umount [--force] MOUNTPOINT");
	}
	if (!mp)
		return cli_usage("umount [--force] MOUNTPOINT");
	return daemon_umount(cli->cfg, mp, force);
}
