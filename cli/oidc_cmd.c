/* oidc_cmd: what an oidc-issuer profile publishes.  `credfs oidc jwks`
 * prints the public keys (the current one and those retired while tokens
 * they signed may live), `credfs oidc discovery` the openid-configuration
 * document, both to upload (a Google workload identity pool takes a JWKS
 * file) or to host at the issuer URL (AWS and Entra fetch it).  No private
 * key is ever printed. */
#include "cli/oidc_cmd.h"
#include "cli/cli.h"
#include "core/config.h"
#include "core/error.h"
#include "core/provider.h"
#include "engine/context.h"
#include "providers/oauth2/oidc_issuer.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char usage[] = "oidc jwks|discovery PROFILE";

/* The oidc-issuer profile named name, or NULL after printing why. */
static const struct profile_cfg *
issuer_profile(struct cli *cli, const char *cmd, const char *name)
{
	const struct profile_cfg *pc;
	int idx;

	if (cli_need_profile(cli->cfg, cmd, name))
		return NULL;
	idx = config_find_profile(cli->cfg, name);
	pc = &cli->cfg->profiles[idx];
	if (strcmp(pc->ops->name, "oidc-issuer") != 0) {
		cli_errorf(2,
			   "%s %s: provider is %s; only an oidc-issuer "
			   "profile has a JWKS and discovery document",
			   cmd, name, pc->ops->name);
		return NULL;
	}
	return pc;
}

static int open_store(struct cli *cli, const char *what, struct context **ctx)
{
	struct error e = {0};

	if (context_open(cli->cfg,
			 CONTEXT_STORE | CONTEXT_AUDIT |
			     (isatty(0) ? CONTEXT_INTERACTIVE : 0),
			 ctx, &e) < 0) {
		error_prefix(&e, "%s", what);
		return cli_fail(&e);
	}
	return 0;
}

int cmd_oidc(struct cli *cli, int argc, char **argv)
{
	const struct profile_cfg *pc;
	struct context *ctx = NULL;
	struct error e = {0};
	char what[300], *json = NULL;
	bool jwks;
	int r;

	if (argc != 3 ||
	    (strcmp(argv[1], "jwks") != 0 && strcmp(argv[1], "discovery") != 0))
		return cli_usage(usage);
	jwks = !strcmp(argv[1], "jwks");
	snprintf(what, sizeof(what), "oidc %s %s", argv[1], argv[2]);
	if (!(pc = issuer_profile(cli, jwks ? "oidc jwks" : "oidc discovery",
				  argv[2])))
		return 2;
	if (jwks) {
		/* The first use generates the key into the store. */
		if ((r = open_store(cli, what, &ctx)) != 0)
			return r;
		r = oidc_issuer_jwks(ctx->store, pc->name, pc->sec, &json, &e);
	} else {
		r = oidc_issuer_discovery(pc->name, pc->sec, &json, &e);
	}
	if (r < 0) {
		error_prefix(&e, "%s", what);
		r = cli_fail(&e);
	} else {
		printf("%s\n", json);
		r = fflush(stdout) == 0 ? 0 : 1;
	}
	free(json);
	context_free(ctx);
	return r;
}

int oidc_rotate(struct cli *cli, const struct profile_cfg *pc)
{
	struct context *ctx = NULL;
	struct error e = {0}, ae = {0};
	char what[300];
	cJSON *o, *req, *rep;
	int r;

	snprintf(what, sizeof(what), "rotate %s", pc->name);
	if ((r = open_store(cli, what, &ctx)) != 0)
		return r;
	r = oidc_issuer_rotate(ctx->store, pc->name, pc->sec, &e);
	if ((o = cJSON_CreateObject())) {
		cJSON_AddStringToObject(o, "profile", pc->name);
		cJSON_AddStringToObject(o, "provider", "oidc-issuer");
		cJSON_AddStringToObject(o, "result", r < 0 ? "failed" : "ok");
		if (r < 0)
			cJSON_AddStringToObject(o, "error", e.msg);
	}
	if (context_audit(ctx, "rotate", o, &ae) < 0) {
		error_prefix(&ae, "%s", what);
		cli_fail(&ae);
	}
	context_free(ctx);
	if (r < 0) {
		error_prefix(&e, "%s", what);
		return cli_fail(&e);
	}
	printf("%s: new signing key; the old one stays in the JWKS until the "
	       "tokens it signed expire\n",
	       pc->name);
	/* A running mount mints with the new key from its next token. */
	req = cli_request("refresh");
	cJSON_AddStringToObject(req, "profile", pc->name);
	rep = cli_call(cli->cfg, req, 65000, &ae);
	cJSON_Delete(rep);
	return 0;
}
