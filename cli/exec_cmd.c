/* exec_cmd: `credfs exec PROFILE -- CMD...` runs CMD with the profile's
 * credential in its environment: from the running daemon, or, when none
 * runs, from this process's own context (sealed cache or provider), like
 * aws-vault exec.  Either way the exec is audited. */
#include "cli/cli.h"
#include "core/config.h"
#include "core/cred.h"
#include "core/error.h"
#include "daemon/ctl.h"
#include "engine/context.h"
#include "engine/engine.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#define EXEC_USAGE "exec PROFILE -- COMMAND [ARG...]"

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
cJSON *exec_fields_local(const struct config *cfg, const char *profile,
			 struct error *e)
{
	int idx = config_find_profile(cfg, profile);
	struct context *ctx = NULL;
	struct cred *c = NULL;
	cJSON *rep = NULL;
	char err[600] = "";
	int r;

	if (context_open(cfg,
			 CONTEXT_ENGINE | CONTEXT_AUDIT |
			     (isatty(0) ? CONTEXT_INTERACTIVE : 0),
			 &ctx, e) < 0)
		goto out;
	/* the provider's own timeout: nobody else is waiting */
	if ((r = engine_refresh_if_needed(ctx->engine, idx, &c, err,
					  sizeof(err))) < 0) {
		error_set(e, r, "%s", err);
		goto out;
	}
	rep = cJSON_CreateObject();
	cJSON_AddBoolToObject(rep, "ok", true);
	ctl_env_reply(rep, c);
	r = ctl_audit_exec(ctx->audit, profile, c, getpid(), false);
	if (ctx->audit && context_audit_failed(ctx, r, e) < 0) {
		cJSON_Delete(rep);
		rep = NULL;
	}
out:
	cred_unref(c);
	context_free(ctx);
	return rep;
}

int cmd_exec(struct cli *cli, int argc, char **argv)
{
	struct config *cfg = cli->cfg;
	struct error e = {0};
	int i = 1, r;

	if (argc < 2)
		return cli_usage(EXEC_USAGE);
	const char *profile = argv[i++];
	if (i < argc && !strcmp(argv[i], "--"))
		i++;
	if (i >= argc)
		return cli_usage(EXEC_USAGE);
	if ((r = cli_need_profile(cfg, "exec", profile)))
		return r;
	cJSON *req = cli_request("env");
	cJSON_AddStringToObject(req, "profile", profile);
	cJSON *rep = cli_call(cfg, req, (cfg->open_timeout + 5) * 1000, &e);
	if (!rep && e.kind == ERROR_NO_DAEMON) {
		/* No mount needed.  The credential comes from the sealed
		 * cache or the provider; this process audits the exec. */
		error_clear(&e);
		rep = exec_fields_local(cfg, profile, &e);
		if (!rep)
			error_prefix(&e, "exec %s", profile);
	} else if (!rep) {
		error_prefix(&e, "%s", profile);
	}
	if (!rep)
		return cli_fail(&e);
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
	const char *exp = cli_jstr(rep, "expiration");
	if (strcmp(exp, "-"))
		setenv(is_aws ? "AWS_CREDENTIAL_EXPIRATION"
			      : "CREDFS_EXPIRATION",
		       exp, 1);
	setenv("CREDFS_PROFILE", profile, 1);
	cJSON_Delete(rep);
	/* The command is the user's: its core limit is what ours was. */
	setrlimit(RLIMIT_CORE, &cli_saved_core_limit);
	execvp(argv[i], argv + i);
	return cli_errorf(1, "exec %s: %s", argv[i], strerror(errno));
}
