/* cli: what the command files share — the command table's entry type, the
 * loaded config, and the one place an error reaches the user.
 *
 * Every command is `int fn(struct cli *cli, int argc, char **argv)` with
 * argv[0] the command's name; it returns the exit status: 0, 1 for a
 * runtime failure, 2 for a usage or config error.  An error is printed
 * once, as `credfs: OBJECT: cause`, by cli_fail (from a struct error) or
 * cli_usage.
 */
#ifndef CREDFS_CLI_H
#define CREDFS_CLI_H

#include <stdbool.h>
#include <sys/resource.h>

struct config;
struct error;
typedef struct cJSON cJSON;

struct cli {
	const char *cfgpath; /* the config path looked for (borrowed) */
	struct config *cfg;  /* loaded unless the command says CLI_NO_CONFIG */
};

enum cli_flags {
	CLI_NO_CONFIG = 1, /* the command loads (or writes) its own config */
};

struct cli_cmd {
	const char *name;
	int (*fn)(struct cli *cli, int argc, char **argv);
	const char *usage; /* "ARGS   what it does", for `credfs --help` */
	unsigned flags;
};

/* Loads cli->cfgpath into cli->cfg, printing the diagnostics.  A missing
 * file gets what to do next (the example to copy, `credfs demo`).  0, or
 * the exit status (2). */
int cli_load_config(struct cli *cli);

/* Prints "credfs: MSG" (the message names the object) and returns the
 * exit status for e (2 config/usage, 1 otherwise). */
int cli_fail(const struct error *e);
/* Prints "usage: credfs USAGE" and returns 2. */
int cli_usage(const char *usage);
/* Prints "credfs: FMT..." and returns status. */
int cli_errorf(int status, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* {"cmd": cmd}: a control request. */
cJSON *cli_request(const char *cmd);
/* Sends req (consumed) to the daemon of cfg; the reply when it says ok,
 * else NULL with e set (kind ERROR_NO_DAEMON when none runs; the daemon's
 * own error text otherwise). */
cJSON *cli_call(const struct config *cfg, cJSON *req, int timeout_ms,
		struct error *e);
/* The string field k of o, or "-". */
const char *cli_jstr(const cJSON *o, const char *k);
/* 0 if p is a profile of cfg, else prints the error and returns 2. */
int cli_need_profile(const struct config *cfg, const char *cmd, const char *p);

/* RLIMIT_CORE as it was before main's constructor set it to 0 (every
 * credfs process is hardened from its first instruction, main.c); `exec`
 * gives it back to the command it runs. */
extern struct rlimit cli_saved_core_limit;

/* The commands, one group per file. */
int cmd_mount(struct cli *cli, int argc, char **argv);	 /* mount_cmd.c */
int cmd_umount(struct cli *cli, int argc, char **argv);	 /* mount_cmd.c */
int cmd_check(struct cli *cli, int argc, char **argv);	 /* check_cmd.c */
int cmd_status(struct cli *cli, int argc, char **argv);	 /* control_cmd.c */
int cmd_lock(struct cli *cli, int argc, char **argv);	 /* control_cmd.c */
int cmd_unlock(struct cli *cli, int argc, char **argv);	 /* control_cmd.c */
int cmd_refresh(struct cli *cli, int argc, char **argv); /* control_cmd.c */
int cmd_login(struct cli *cli, int argc, char **argv);	 /* control_cmd.c */
int cmd_revoke(struct cli *cli, int argc, char **argv);	 /* control_cmd.c */
int cmd_exec(struct cli *cli, int argc, char **argv);	 /* exec_cmd.c */
/* exec_cmd.c: what the daemon's "env" request answers ("fields",
 * "expiration"), fetched by this process when no daemon runs, audited as an
 * exec; NULL with e set.  WARNING: the reply holds secrets (secmem). */
struct error;
cJSON *exec_fields_local(const struct config *cfg, const char *profile,
			 const char *command, struct error *e);
int cmd_store(struct cli *cli, int argc, char **argv);	 /* store_cmd.c */
int cmd_rotate(struct cli *cli, int argc, char **argv);	 /* aws_cmd.c */
int cmd_demo(struct cli *cli, int argc, char **argv);	 /* demo.c */
int cmd_audit(struct cli *cli, int argc, char **argv);	 /* audit_args.c */

#endif
