/* check_cmd: `credfs check` validates the config and reports every
 * problem at once (FILE:LINE: message). */
#include "cli/cli.h"
#include "core/config.h"

#include <stdio.h>

int cmd_check(struct cli *cli, int argc, char **argv)
{
	int r;

	if (argc != 1)
		return cli_usage("check");
	if ((r = cli_load_config(cli)) != 0)
		return r;
	printf("%s: ok (%zu profiles, %zu files)\n", cli->cfgpath,
	       cli->cfg->nprofiles, cli->cfg->nfiles);
	return 0;
}
