/* commands: thin clients of the control socket, plus check and exec. */
#include "providers/registry.h"
#include "cli/commands.h"
#include "access/audit.h"
#include "core/cred.h"
#include "engine/engine.h"
#include "crypto/key.h"
#include "crypto/store.h"
#include "cli/aws_cmd.h"
#include "core/config.h"
#include "daemon/ctl.h"
#include "core/secmem.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

int cmd_check(const char *path)
{
	struct config *cfg = NULL;
	struct diag d = {0};
	int r = config_load(path, providers_all, &cfg, &d);

	for (size_t i = 0; i < d.n; i++)
		fprintf(stderr, "%s\n", d.msgs[i]);
	if (r == 0)
		printf("%s: ok (%zu profiles, %zu files)\n", path,
		       cfg->nprofiles, cfg->nfiles);
	diag_free(&d);
	config_free(cfg);
	return r == 0 ? 0 : 2;
}

/* Sends {"cmd": cmd, ...extra}; prints the error; returns the reply. */
static cJSON *call(struct config *cfg, const char *what, cJSON *req,
		   int timeout_ms)
{
	char err[600] = "";
	cJSON *rep = ctl_call(cfg, req, timeout_ms, err, sizeof(err));
	if (!rep) {
		fprintf(stderr, "credfs: %s: %s\n", what, err);
		return NULL;
	}
	if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(rep, "ok"))) {
		cJSON *e = cJSON_GetObjectItemCaseSensitive(rep, "error");
		fprintf(stderr, "credfs: %s: %s\n", what,
			cJSON_IsString(e) ? e->valuestring : "failed");
		cJSON_Delete(rep);
		return NULL;
	}
	return rep;
}

static cJSON *request(const char *cmd)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "cmd", cmd);
	return o;
}

static const char *jstr(cJSON *o, const char *k)
{
	cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
	return cJSON_IsString(v) ? v->valuestring : "-";
}

int cmd_status(struct config *cfg, int argc, char **argv)
{
	bool json = argc > 1 && !strcmp(argv[1], "--json");
	cJSON *rep = call(cfg, "status", request("status"), 5000), *it;

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
	printf("mount %s (pid %d)%s\n", jstr(rep, "mountpoint"),
	       (int)cJSON_GetObjectItemCaseSensitive(rep, "pid")->valuedouble,
	       cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(rep, "locked"))
		   ? "  LOCKED: every open is refused"
		   : "");
	printf("%-16s %-20s %-10s %-21s %-21s %s\n", "PROFILE", "PROVIDER",
	       "STATE", "EXPIRES", "LAST REFRESH", "LAST ERROR");
	cJSON_ArrayForEach(it,
			   cJSON_GetObjectItemCaseSensitive(rep, "profiles"))
	{
		printf("%-16s %-20s %-10s %-21s %-21s %s\n",
		       jstr(it, "profile"), jstr(it, "provider"),
		       jstr(it, "state"), jstr(it, "expires"),
		       jstr(it, "last_refresh"), jstr(it, "last_error"));
	}
	cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(rep, "profiles"))
	{
		cJSON *bad = cJSON_GetObjectItemCaseSensitive(it, "integrity");
		if (cJSON_IsString(bad))
			printf("INTEGRITY %s: %s\n", jstr(it, "profile"),
			       bad->valuestring);
	}
	printf("\n%-32s %-16s %8s %8s\n", "FILE", "FORMAT", "OPENS", "DENIALS");
	cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(rep, "files"))
	{
		printf(
		    "%-32s %-16s %8.0f %8.0f\n", jstr(it, "file"),
		    jstr(it, "format"),
		    cJSON_GetObjectItemCaseSensitive(it, "opens")->valuedouble,
		    cJSON_GetObjectItemCaseSensitive(it, "denials")
			->valuedouble);
	}
	cJSON_Delete(rep);
	return 0;
}

static int simple(struct config *cfg, const char *cmd, const char *done)
{
	cJSON *rep = call(cfg, cmd, request(cmd), 5000);
	if (!rep)
		return 1;
	printf("%s\n", done);
	cJSON_Delete(rep);
	return 0;
}

int cmd_lock(struct config *cfg, int argc, char **argv)
{
	return simple(cfg, "lock",
		      "locked: every open of a virtual file is refused until "
		      "`credfs unlock`");
}

int cmd_unlock(struct config *cfg, int argc, char **argv)
{
	return simple(cfg, "unlock", "unlocked");
}

static int need_profile(struct config *cfg, const char *cmd, const char *p)
{
	if (config_find_profile(cfg, p) < 0) {
		fprintf(stderr,
			"credfs: %s: profile %s: no such profile in %s\n", cmd,
			p, cfg->path);
		return 2;
	}
	return 0;
}

int cmd_revoke(struct config *cfg, int argc, char **argv)
{
	bool deactivate = false;
	int r = 0;

	if (argc > 1 && !strcmp(argv[1], "--deactivate-source")) {
		deactivate = true;
		argv++;
		argc--;
	}
	if (argc < 2) {
		fprintf(stderr, "usage: credfs revoke [--deactivate-source] "
				"PROFILE...|--all\n");
		return 2;
	}
	if (deactivate && !strcmp(argv[1], "--all")) {
		fprintf(stderr, "credfs: revoke: --deactivate-source takes "
				"profile names, not --all\n");
		return 2;
	}
	if (!strcmp(argv[1], "--all")) {
		cJSON *req = request("revoke");
		cJSON_AddBoolToObject(req, "all", true);
		cJSON *rep = call(cfg, "revoke", req, 60000);
		if (!rep)
			return 1;
		printf("revoked: every cached credential dropped\n");
		cJSON_Delete(rep);
		return 0;
	}
	for (int i = 1; i < argc; i++)
		if ((r = need_profile(cfg, "revoke", argv[i])))
			return r;
	/* Refuse before anything is dropped. */
	for (int i = 1; deactivate && i < argc; i++)
		if ((r = aws_cmd_deactivate_check(cfg, argv[i])))
			return r;
	for (int i = 1; i < argc; i++) {
		cJSON *req = request("revoke");
		cJSON_AddStringToObject(req, "profile", argv[i]);
		cJSON *rep = call(cfg, "revoke", req, 60000);
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

int cmd_login(struct config *cfg, int argc, char **argv)
{
	char code[64], prompt[256];
	int r;

	if (argc != 2) {
		fprintf(stderr, "usage: credfs login PROFILE\n");
		return 2;
	}
	if ((r = need_profile(cfg, "login", argv[1])))
		return r;
	int idx = config_find_profile(cfg, argv[1]);
	const char *serial = cfg_get(cfg->profiles[idx].sec, "mfa_serial");
	cJSON *req = request("login");
	cJSON_AddStringToObject(req, "profile", argv[1]);
	if (serial) {
		snprintf(prompt, sizeof(prompt),
			 "MFA code for %s (%s): ", argv[1], serial);
		if (read_code(code, sizeof(code), prompt) < 0 || !*code) {
			fprintf(stderr, "credfs: login %s: no MFA code given\n",
				argv[1]);
			cJSON_Delete(req);
			return 1;
		}
		for (char *p = code; *p; p++)
			if (!isdigit((unsigned char)*p)) {
				fprintf(stderr,
					"credfs: login %s: an MFA code is "
					"digits only\n",
					argv[1]);
				cJSON_Delete(req);
				return 2;
			}
		cJSON_AddStringToObject(req, "code", code);
	}
	cJSON *rep = call(cfg, argv[1], req, 65000);
	if (!rep)
		return 1;
	printf("%s: signed in\n", argv[1]);
	cJSON_Delete(rep);
	return 0;
}

int cmd_refresh(struct config *cfg, int argc, char **argv)
{
	int r;
	if (argc != 2) {
		fprintf(stderr, "usage: credfs refresh PROFILE\n");
		return 2;
	}
	if ((r = need_profile(cfg, "refresh", argv[1])))
		return r;
	cJSON *req = request("refresh");
	cJSON_AddStringToObject(req, "profile", argv[1]);
	cJSON *rep = call(cfg, argv[1], req, 65000);
	if (!rep)
		return 1;
	printf("%s: refreshed\n", argv[1]);
	cJSON_Delete(rep);
	return 0;
}

int cmd_audit(struct config *cfg, int argc, char **argv)
{
	const char *log = cfg->audit_log;

	if (argc < 2)
		goto usage;
	if (!strcmp(log, "syslog")) {
		fprintf(stderr,
			"credfs: audit: the log goes to syslog; read it "
			"there\n");
		return 2;
	}
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
				goto usage;
		}
		return audit_cmd_report(log, key, since, stdout);
	}
usage:
	fprintf(stderr, "usage: credfs audit verify | tail [-f] | report "
			"[--key ID] [--since T]\n");
	return 2;
}

static void setenv_upper(const char *prefix, const char *name,
			 const char *value)
{
	char var[160];
	size_t o = (size_t)snprintf(var, sizeof(var), "%s", prefix);
	for (const char *p = name; *p && o < sizeof(var) - 1; p++)
		var[o++] = (char)toupper((unsigned char)*p);
	var[o] = 0;
	setenv(var, value, 1);
}

/* The reply the daemon's "env" request gives, computed here. */
static cJSON *exec_fields_local(struct config *cfg, const char *profile)
{
	int idx = config_find_profile(cfg, profile);
	uint8_t *key = NULL;
	struct store *st = NULL;
	struct audit *a = NULL;
	struct engine *e = NULL;
	struct cred *c = NULL;
	cJSON *rep = NULL;
	char err[600] = "";

	if (key_load(cfg, isatty(0), &key, err, sizeof(err)) < 0) {
		fprintf(stderr, "credfs: exec %s: key: %s\n", profile, err);
		goto out;
	}
	if (store_open(cfg->state_dir, key, &st, err, sizeof(err)) < 0) {
		fprintf(stderr, "credfs: exec %s: store: %s\n", profile, err);
		goto out;
	}
	if (strcmp(cfg->audit_log, "syslog") != 0 &&
	    audit_open(cfg->audit_log, AUDIT_SYNC_ALWAYS, &a, err,
		       sizeof(err)) < 0 &&
	    cfg->audit_required) {
		fprintf(stderr, "credfs: exec %s: audit log: %s\n", profile,
			err);
		goto out;
	}
	if (engine_new(cfg, st, a, &e) < 0)
		goto out;
	/* the provider's own timeout: nobody else is waiting */
	if (engine_refresh_if_needed(e, idx, &c, err, sizeof(err)) < 0) {
		fprintf(stderr, "credfs: exec %s: %s\n", profile, err);
		goto out;
	}
	rep = cJSON_CreateObject();
	cJSON_AddBoolToObject(rep, "ok", true);
	ctl_env_reply(rep, c);
	if (ctl_audit_exec(a, profile, c, getpid(), false) < 0 && a &&
	    cfg->audit_required) {
		fprintf(stderr, "credfs: exec %s: audit log: cannot write\n",
			profile);
		cJSON_Delete(rep);
		rep = NULL;
	}
out:
	cred_unref(c);
	engine_free(e);
	audit_close(a);
	store_free(st);
	key_free(key);
	return rep;
}

int cmd_exec(struct config *cfg, int argc, char **argv)
{
	int i = 1, r;

	if (argc < 2)
		goto usage;
	const char *profile = argv[i++];
	if (i < argc && !strcmp(argv[i], "--"))
		i++;
	if (i >= argc)
		goto usage;
	if ((r = need_profile(cfg, "exec", profile)))
		return r;
	cJSON *req = request("env");
	cJSON_AddStringToObject(req, "profile", profile);
	char err[600] = "";
	cJSON *rep = ctl_call(cfg, req, (cfg->open_timeout + 5) * 1000, err,
			      sizeof(err));
	if (!rep && strstr(err, "no daemon is running")) {
		/* Like aws-vault exec: no mount needed.  The credential comes
		 * from the sealed cache or the provider, and the exec is
		 * audited by this process. */
		rep = exec_fields_local(cfg, profile);
		if (!rep)
			return 1;
	} else if (!rep) {
		fprintf(stderr, "credfs: %s: %s\n", profile, err);
		return 1;
	} else if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(rep, "ok"))) {
		cJSON *e = cJSON_GetObjectItemCaseSensitive(rep, "error");
		fprintf(stderr, "credfs: %s: %s\n", profile,
			cJSON_IsString(e) ? e->valuestring : "failed");
		cJSON_Delete(rep);
		return 1;
	}
	cJSON *f = cJSON_GetObjectItemCaseSensitive(rep, "fields"), *it;
	static const struct {
		const char *field, *var;
	} aws[] = {
	    {"access_key_id", "AWS_ACCESS_KEY_ID"},
	    {"secret_access_key", "AWS_SECRET_ACCESS_KEY"},
	    {"session_token", "AWS_SESSION_TOKEN"},
	};
	bool is_aws = cJSON_GetObjectItemCaseSensitive(f, "access_key_id");
	if (is_aws) {
		/* Nothing else may override what we set. */
		unsetenv("AWS_PROFILE");
		unsetenv("AWS_SESSION_TOKEN");
		unsetenv("AWS_SECURITY_TOKEN");
	}
	cJSON_ArrayForEach(it, f)
	{
		if (!cJSON_IsString(it))
			continue;
		bool mapped = false;
		for (size_t k = 0; k < sizeof(aws) / sizeof(aws[0]); k++)
			if (!strcmp(it->string, aws[k].field)) {
				setenv(aws[k].var, it->valuestring, 1);
				mapped = true;
			}
		if (!mapped)
			setenv_upper("CREDFS_", it->string, it->valuestring);
	}
	const char *exp = jstr(rep, "expiration");
	if (strcmp(exp, "-")) {
		setenv(is_aws ? "AWS_CREDENTIAL_EXPIRATION"
			      : "CREDFS_EXPIRATION",
		       exp, 1);
	}
	setenv("CREDFS_PROFILE", profile, 1);
	cJSON_Delete(rep);
	execvp(argv[i], argv + i);
	fprintf(stderr, "credfs: exec %s: %s\n", argv[i], strerror(errno));
	return 1;
usage:
	fprintf(stderr, "usage: credfs exec PROFILE -- COMMAND [ARG...]\n");
	return 2;
}
