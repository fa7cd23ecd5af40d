/* audit_args: `credfs audit verify|tail|report` — the arguments; the work
 * is audit_cmd_verify/tail/report (access/audit.h today; the audit
 * command file may take this over). */
#include "access/audit.h"
#include "cli/cli.h"
#include "core/config.h"

#include <stdio.h>
#include <string.h>

#define AUDIT_USAGE "audit verify | tail [-f] | report [--key ID] [--since T]"

int cmd_audit(struct cli *cli, int argc, char **argv)
{
	const char *log = cli->cfg->audit_log;

	if (argc < 2)
		return cli_usage(AUDIT_USAGE);
	if (!strcmp(log, "syslog"))
		return cli_errorf(2, "audit: the log goes to syslog; read it "
				     "there");
	if (!strcmp(argv[1], "verify") && argc == 2)
		return audit_cmd_verify(log, stdout);
	if (!strcmp(argv[1], "tail")) {
		bool follow = argc > 2 && (!strcmp(argv[2], "-f") ||
					   !strcmp(argv[2], "--follow"));
		return audit_cmd_tail(log, follow, stdout);
	}
	if (!strcmp(argv[1], "report")) {
		const char *key = NULL, *since = NULL;
		for (int i = 2; i < argc; i++) {
			if (!strcmp(argv[i], "--key") && i + 1 < argc)
				key = argv[++i];
			else if (!strcmp(argv[i], "--since") && i + 1 < argc)
				since = argv[++i];
			else
				return cli_usage(AUDIT_USAGE);
		}
		return audit_cmd_report(log, key, since, stdout);
	}
	return cli_usage(AUDIT_USAGE);
}
