/* audit_args: `credfs audit verify|tail|report` — the arguments; the work
 * is audit_cmd.c.  The verification key of a sealed log is read from a
 * file or stdin, never from argv (`ps` would show it, and with it the
 * epochs' keys could be derived). */
#include "cli/audit_cmd.h"
#include "core/util.h"
#include "cli/cli.h"
#include "core/config.h"

#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#define AUDIT_USAGE                                                            \
	"audit verify [--key-file FILE|-] | seal | tail [-f] | report [--key ID] "   \
	"[--since T]"

/* The key file (or "-": stdin) holds the 64 hex digits, maybe a newline. */
static int verify_with_key(const char *log, const char *keyfile)
{
	char key[130] = "";
	FILE *f = strcmp(keyfile, "-") ? fopen(keyfile, "re") : stdin;
	int r;

	if (!f)
		return cli_errorf(1, "audit verify: %s: %s", keyfile,
				  strerror(errno));
	if (!fgets(key, sizeof(key), f))
		key[0] = '\0';
	if (f != stdin)
		fclose(f);
	key[strcspn(key, "\r\n")] = '\0';
	r = audit_cmd_verify_key(log, key, stdout);
	sodium_memzero(key, sizeof(key));
	return r;
}

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
	if (!strcmp(argv[1], "verify") && argc == 4 &&
	    !strcmp(argv[2], "--key-file"))
		return verify_with_key(log, argv[3]);
	if (!strcmp(argv[1], "seal") && argc == 2) {
		/* Sealing may come before anything was ever logged. */
		char dir[PATH_MAX];
		int r;

		snprintf(dir, sizeof(dir), "%s", log);
		if ((r = util_mkdir_p(dirname(dir), 0700)) < 0)
			return cli_errorf(1, "audit seal: %s: %s", log,
					  strerror(-r));
		return audit_cmd_seal_setup(log, stdout);
	}
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
