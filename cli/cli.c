/* cli: the helpers every command file shares (see cli.h). */
#include "cli/cli.h"
#include "core/config.h"
#include "core/error.h"
#include "daemon/ctl.h"
#include "providers/registry.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct rlimit cli_saved_core_limit;

/* What to do when there is no config yet: where it was looked for, the
 * example to start from, and the demo that needs none. */
static void no_config_hint(const char *path)
{
	char dir[PATH_MAX];

	snprintf(dir, sizeof(dir), "%s", path);
	fprintf(stderr,
		"credfs: config %s does not exist yet. To start:\n"
		"  credfs init            # from the profiles of ~/.aws/config\n"
		"or\n"
		"  mkdir -p %s\n"
		"  cp examples/aws-assume-role.conf %s   # an example from "
		"credfs's examples/ directory\n"
		"  (edit it, then `credfs check`)\n"
		"or try credfs with nothing set up: credfs demo\n",
		path, dirname(dir), path);
}

int cli_load_config(struct cli *cli)
{
	struct diag d = {0};
	int r = config_load(cli->cfgpath, providers_all, &cli->cfg, &d);

	for (size_t i = 0; i < d.n; i++)
		fprintf(stderr, "%s\n", d.msgs[i]);
	diag_free(&d);
	if (r == -ENOENT)
		no_config_hint(cli->cfgpath);
	if (r < 0) {
		config_free(cli->cfg);
		cli->cfg = NULL;
		return 2;
	}
	return 0;
}

int cli_fail(const struct error *e)
{
	char buf[sizeof(e->msg) + 300];

	fprintf(stderr, "credfs: %s\n", error_format(e, buf, sizeof(buf)));
	return error_exit_status(e);
}

int cli_usage(const char *usage)
{
	fprintf(stderr, "usage: credfs %s\n", usage);
	return 2;
}

int cli_errorf(int status, const char *fmt, ...)
{
	va_list ap;

	fputs("credfs: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return status;
}

cJSON *cli_request(const char *cmd)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddStringToObject(o, "cmd", cmd);
	return o;
}

cJSON *cli_call(const struct config *cfg, cJSON *req, int timeout_ms,
		struct error *e)
{
	cJSON *rep = ctl_call(cfg, req, timeout_ms, e);

	if (!rep)
		return NULL;
	if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(rep, "ok"))) {
		cJSON *m = cJSON_GetObjectItemCaseSensitive(rep, "error");

		error_set(e, EIO, "%s",
			  cJSON_IsString(m) ? m->valuestring : "failed");
		cJSON_Delete(rep);
		return NULL;
	}
	return rep;
}

const char *cli_jstr(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	return cJSON_IsString(v) ? v->valuestring : "-";
}

int cli_need_profile(const struct config *cfg, const char *cmd, const char *p)
{
	if (config_find_profile(cfg, p) >= 0)
		return 0;
	return cli_errorf(2, "%s: profile %s: no such profile in %s", cmd, p,
			  cfg->path);
}
