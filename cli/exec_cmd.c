/* exec_cmd: `credfs exec PROFILE -- CMD...` runs CMD with the profile's
 * credential in its environment: from the running daemon, or, when none
 * runs, from this process's own context (sealed cache or provider), like
 * aws-vault exec.  Either way the profile's exec rules decide (access/
 * exec_policy.h) and the exec is audited, allowed or denied. */
#include "cli/cli.h"
#include "access/caller.h"
#include "access/exec_policy.h"
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

/* The reply the daemon's "env" request gives, computed here under the same
 * rules: the asking process is this one (its executable, its parents, its
 * cgroup).  No daemon runs, so nothing is locked. */
cJSON *exec_fields_local(const struct config *cfg, const char *profile,
			 const char *command, struct error *e)
{
	struct exec_ask q = {
	    .cfg = cfg,
	    .idx = config_find_profile(cfg, profile),
	    .pid = getpid(),
	    .uid = geteuid(),
	    .gid = getegid(),
	    .command = command,
	};
	struct policy_decision d;
	struct caller *who = malloc(sizeof(*who));
	struct context *ctx = NULL;
	struct cred *c = NULL;
	cJSON *rep = NULL;
	char err[600] = "";
	int r;

	if (!who) {
		error_set(e, ENOMEM, "out of memory");
		goto out;
	}
	if (context_open(cfg,
			 CONTEXT_ENGINE | CONTEXT_AUDIT |
			     (isatty(0) ? CONTEXT_INTERACTIVE : 0),
			 &ctx, e) < 0)
		goto out;
	if ((r = exec_authorize(&q, ctx->audit, who, &d, err, sizeof(err))) <
	    0) {
		error_set(e, EACCES, "%s",
			  r == -EIO ? "the audit line cannot be written" : err);
		goto out;
	}
	/* the provider's own timeout: nobody else is waiting */
	if ((r = engine_refresh_if_needed(ctx->engine, q.idx, &c, err,
					  sizeof(err))) < 0) {
		error_set(e, r, "%s", err);
		goto out;
	}
	r = exec_audit_allow(&q, ctx->audit, who, &d, c);
	if (ctx->audit && context_audit_failed(ctx, r, e) < 0)
		goto out;
	rep = cJSON_CreateObject();
	cJSON_AddBoolToObject(rep, "ok", true);
	ctl_env_reply(rep, c);
out:
	cred_unref(c);
	context_free(ctx);
	free(who);
	return rep;
}

/* The variables a profile's fields become (SPEC "Environment"). */
enum env_kind { ENV_AWS, ENV_GOOGLE, ENV_AZURE, ENV_OTHER };

static enum env_kind env_kind_of(const struct config *cfg, const char *profile,
				 const cJSON *fields)
{
	const struct profile_cfg *p =
	    &cfg->profiles[config_find_profile(cfg, profile)];
	const char *prov = p->ops ? p->ops->name : "";

	if (cJSON_GetObjectItemCaseSensitive(fields, "access_key_id"))
		return ENV_AWS;
	if (!strncmp(prov, "gcp-", 4))
		return ENV_GOOGLE;
	/* A Key Vault secret is the application's, not an Azure token. */
	if (!strncmp(prov, "azure-", 6) && strcmp(prov, "azure-keyvault"))
		return ENV_AZURE;
	return ENV_OTHER;
}

static void set_fields(enum env_kind kind, const cJSON *f)
{
	static const struct {
		enum env_kind kind;
		const char *field, *var;
	} map[] = {
	    {ENV_AWS, "access_key_id", "AWS_ACCESS_KEY_ID"},
	    {ENV_AWS, "secret_access_key", "AWS_SECRET_ACCESS_KEY"},
	    {ENV_AWS, "session_token", "AWS_SESSION_TOKEN"},
	    /* gcloud, and the Google client libraries' and Terraform's */
	    {ENV_GOOGLE, "access_token", "CLOUDSDK_AUTH_ACCESS_TOKEN"},
	    {ENV_GOOGLE, "access_token", "GOOGLE_OAUTH_ACCESS_TOKEN"},
	};
	const cJSON *it;

	cJSON_ArrayForEach(it, f)
	{
		if (!cJSON_IsString(it))
			continue;
		bool mapped = false;
		for (size_t k = 0; k < sizeof(map) / sizeof(map[0]); k++)
			if (map[k].kind == kind &&
			    !strcmp(it->string, map[k].field)) {
				setenv(map[k].var, it->valuestring, 1);
				mapped = true;
			}
		if (!mapped)
			setenv_upper(kind == ENV_AZURE ? "AZURE_" : "CREDFS_",
				     it->string, it->valuestring);
	}
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
	cJSON_AddStringToObject(req, "command", argv[i]);
	cJSON *rep = cli_call(cfg, req, (cfg->open_timeout + 5) * 1000, &e);
	if (!rep && e.kind == ERROR_NO_DAEMON) {
		/* No mount needed.  The credential comes from the sealed
		 * cache or the provider; this process decides and audits. */
		error_clear(&e);
		rep = exec_fields_local(cfg, profile, argv[i], &e);
		if (!rep)
			error_prefix(&e, "exec %s", profile);
	} else if (!rep) {
		error_prefix(&e, "%s", profile);
	}
	if (!rep)
		return cli_fail(&e);
	cJSON *f = cJSON_GetObjectItemCaseSensitive(rep, "fields");
	enum env_kind kind = env_kind_of(cfg, profile, f);
	if (kind == ENV_AWS) {
		/* Nothing else may override what we set. */
		unsetenv("AWS_PROFILE");
		unsetenv("AWS_SESSION_TOKEN");
		unsetenv("AWS_SECURITY_TOKEN");
	}
	set_fields(kind, f);
	const char *exp = cli_jstr(rep, "expiration");
	static const char *const exp_var[] = {
	    [ENV_AWS] = "AWS_CREDENTIAL_EXPIRATION",
	    [ENV_GOOGLE] = "CREDFS_EXPIRATION",
	    [ENV_AZURE] = "AZURE_ACCESS_TOKEN_EXPIRATION",
	    [ENV_OTHER] = "CREDFS_EXPIRATION",
	};
	if (strcmp(exp, "-"))
		setenv(exp_var[kind], exp, 1);
	setenv("CREDFS_PROFILE", profile, 1);
	cJSON_Delete(rep);
	/* The command is the user's: its core limit is what ours was. */
	setrlimit(RLIMIT_CORE, &cli_saved_core_limit);
	execvp(argv[i], argv + i);
	return cli_errorf(1, "exec %s: %s", argv[i], strerror(errno));
}
