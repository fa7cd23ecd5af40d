/* control_cmd: status, lock, unlock, refresh, login and revoke — thin
 * clients of the daemon's control socket. */
#include "cli/aws_cmd.h"
#include "cli/cli.h"
#include "core/config.h"
#include "core/error.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

/* Sends req; prints the error as "credfs: WHAT: cause". */
static cJSON *call(struct cli *cli, const char *what, cJSON *req,
		   int timeout_ms)
{
	struct error e = {0};
	cJSON *rep = cli_call(cli->cfg, req, timeout_ms, &e);

	if (!rep) {
		error_prefix(&e, "%s", what);
		cli_fail(&e);
	}
	return rep;
}

static double jnum(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

int cmd_status(struct cli *cli, int argc, char **argv)
{
	bool json = argc > 1 && !strcmp(argv[1], "--json");
	cJSON *rep = call(cli, "status", cli_request("status"), 5000), *it;

	if (!rep)
		return 1;
	if (json) {
		cJSON_DeleteItemFromObject(rep, "ok");
		char *s = cJSON_Print(rep);
		printf("%s\n", s);
		cJSON_free(s);
		cJSON_Delete(rep);
		return 0;
	}
	printf("mount %s (pid %d)%s\n", cli_jstr(rep, "mountpoint"),
	       (int)jnum(rep, "pid"),
	       cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(rep, "locked"))
		   ? "  LOCKED: every open is refused"
		   : "");
	printf("%-16s %-20s %-10s %-21s %-21s %s\n", "PROFILE", "PROVIDER",
	       "STATE", "EXPIRES", "LAST REFRESH", "LAST ERROR");
	cJSON_ArrayForEach(it,
			   cJSON_GetObjectItemCaseSensitive(rep, "profiles"))
	{
		printf("%-16s %-20s %-10s %-21s %-21s %s\n",
		       cli_jstr(it, "profile"), cli_jstr(it, "provider"),
		       cli_jstr(it, "state"), cli_jstr(it, "expires"),
		       cli_jstr(it, "last_refresh"),
		       cli_jstr(it, "last_error"));
	}
	cJSON_ArrayForEach(it,
			   cJSON_GetObjectItemCaseSensitive(rep, "profiles"))
	{
		cJSON *bad = cJSON_GetObjectItemCaseSensitive(it, "integrity");
		if (cJSON_IsString(bad))
			printf("INTEGRITY %s: %s\n", cli_jstr(it, "profile"),
			       bad->valuestring);
	}
	it = cJSON_GetObjectItemCaseSensitive(rep, "audit");
	if (cJSON_IsString(cJSON_GetObjectItemCaseSensitive(it, "error")))
		printf("AUDIT REFUSING: %s\n", cli_jstr(it, "error"));
	if (cJSON_IsString(cJSON_GetObjectItemCaseSensitive(it, "warning")))
		printf("AUDIT WARNING: %s\n", cli_jstr(it, "warning"));
	printf("\n%-32s %-16s %8s %8s\n", "FILE", "FORMAT", "OPENS", "DENIALS");
	cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(rep, "files"))
	{
		printf("%-32s %-16s %8.0f %8.0f\n", cli_jstr(it, "file"),
		       cli_jstr(it, "format"), jnum(it, "opens"),
		       jnum(it, "denials"));
	}
	cJSON_Delete(rep);
	return 0;
}

static int simple(struct cli *cli, const char *cmd, const char *done)
{
	cJSON *rep = call(cli, cmd, cli_request(cmd), 5000);

	if (!rep)
		return 1;
	printf("%s\n", done);
	cJSON_Delete(rep);
	return 0;
}

int cmd_lock(struct cli *cli, int argc, char **argv)
{
	return simple(cli, "lock",
		      "locked: every open of a virtual file is refused until "
		      "`credfs unlock`");
}

int cmd_unlock(struct cli *cli, int argc, char **argv)
{
	return simple(cli, "unlock", "unlocked");
}

int cmd_revoke(struct cli *cli, int argc, char **argv)
{
	struct config *cfg = cli->cfg;
	bool deactivate = false;
	int r = 0;

	if (argc > 1 && !strcmp(argv[1], "--deactivate-source")) {
		deactivate = true;
		argv++;
		argc--;
	}
	if (argc < 2)
		return cli_usage(
		    "revoke [--deactivate-source] PROFILE...|--all");
	if (deactivate && !strcmp(argv[1], "--all"))
		return cli_errorf(2, "revoke: --deactivate-source takes "
				     "profile names, not --all");
	if (!strcmp(argv[1], "--all")) {
		cJSON *req = cli_request("revoke");
		cJSON_AddBoolToObject(req, "all", true);
		cJSON *rep = call(cli, "revoke", req, 60000);
		if (!rep)
			return 1;
		printf("revoked: every cached credential dropped\n");
		cJSON_Delete(rep);
		return 0;
	}
	for (int i = 1; i < argc; i++)
		if ((r = cli_need_profile(cfg, "revoke", argv[i])))
			return r;
	/* Refuse before anything is dropped. */
	for (int i = 1; deactivate && i < argc; i++)
		if ((r = aws_cmd_deactivate_check(cfg, argv[i])))
			return r;
	for (int i = 1; i < argc; i++) {
		cJSON *req = cli_request("revoke");
		cJSON_AddStringToObject(req, "profile", argv[i]);
		cJSON *rep = call(cli, "revoke", req, 60000);
		if (!rep) {
			r = 1;
			continue;
		}
		printf("revoked %s\n", argv[i]);
		cJSON_Delete(rep);
	}
	for (int i = 1; deactivate && i < argc; i++) {
		int k = aws_cmd_deactivate_source(cfg, argv[i]);
		if (k && !r)
			r = k;
	}
	return r;
}

/* An MFA code: read with echo off on a terminal. */
static int read_code(char *buf, size_t len, const char *prompt)
{
	struct termios old, raw;
	bool tty = isatty(0);

	if (tty) {
		fprintf(stderr, "%s", prompt);
		tcgetattr(0, &old);
		raw = old;
		raw.c_lflag &= ~(tcflag_t)ECHO;
		tcsetattr(0, TCSAFLUSH, &raw);
	}
	char *r = fgets(buf, (int)len, stdin);
	if (tty) {
		tcsetattr(0, TCSAFLUSH, &old);
		fprintf(stderr, "\n");
	}
	if (!r)
		return -EINVAL;
	buf[strcspn(buf, "\r\n")] = 0;
	return 0;
}

int cmd_login(struct cli *cli, int argc, char **argv)
{
	struct config *cfg = cli->cfg;
	char code[64], prompt[256];
	int r;

	if (argc != 2)
		return cli_usage("login PROFILE");
	if ((r = cli_need_profile(cfg, "login", argv[1])))
		return r;
	int idx = config_find_profile(cfg, argv[1]);
	const char *serial = cfg_get(cfg->profiles[idx].sec, "mfa_serial");
	cJSON *req = cli_request("login");
	cJSON_AddStringToObject(req, "profile", argv[1]);
	if (serial) {
		snprintf(prompt, sizeof(prompt),
			 "MFA code for %s (%s): ", argv[1], serial);
		if (read_code(code, sizeof(code), prompt) < 0 || !*code) {
			cJSON_Delete(req);
			return cli_errorf(1, "login %s: no MFA code given",
					  argv[1]);
		}
		for (char *p = code; *p; p++)
			if (!isdigit((unsigned char)*p)) {
				cJSON_Delete(req);
				return cli_errorf(2,
						  "login %s: an MFA code is "
						  "digits only",
						  argv[1]);
			}
		cJSON_AddStringToObject(req, "code", code);
	}
	cJSON *rep = call(cli, argv[1], req, 65000);
	if (!rep)
		return 1;
	printf("%s: signed in\n", argv[1]);
	cJSON_Delete(rep);
	return 0;
}

int cmd_refresh(struct cli *cli, int argc, char **argv)
{
	int r;

	if (argc != 2)
		return cli_usage("refresh PROFILE");
	if ((r = cli_need_profile(cli->cfg, "refresh", argv[1])))
		return r;
	cJSON *req = cli_request("refresh");
	cJSON_AddStringToObject(req, "profile", argv[1]);
	cJSON *rep = call(cli, argv[1], req, 65000);
	if (!rep)
		return 1;
	printf("%s: refreshed\n", argv[1]);
	cJSON_Delete(rep);
	return 0;
}
