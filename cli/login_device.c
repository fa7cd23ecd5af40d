/* login_device: the OAuth 2.0 device authorization grant (RFC 8628) at
 * the terminal, in the command's own process: it unlocks the store, runs
 * the grant (providers/oauth2), and tells a running daemon to refresh.
 * Only the user code and the verification URL are printed; the device
 * code, tokens and refresh token never reach the terminal or the log. */
#include "cli/login_device.h"
#include "cli/cli.h"
#include "core/config.h"
#include "core/cred.h"
#include "core/error.h"
#include "core/provider.h"
#include "engine/context.h"
#include "providers/oauth2/oauth2.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int login_device_applies(const struct profile_cfg *pc)
{
	return pc && pc->ops && !strcmp(pc->ops->name, "oauth2") &&
	       oauth2_is_device_grant(pc->state);
}

/* Sleeps secs seconds; on a terminal the line shows what is awaited and
 * when the code expires, redrawn every second. */
static void wait_poll(const char *profile, int secs, time_t expires, bool tty)
{
	for (int i = secs; i > 0; i--) {
		if (tty) {
			long left = (long)(expires - time(NULL));
			if (left < 0)
				left = 0;
			fprintf(stderr,
				"\r%s: waiting for approval; next check in "
				"%2d s, code expires in %ld:%02ld ",
				profile, i, left / 60, left % 60);
			fflush(stderr);
		}
		sleep(1);
	}
}

/* Tells a running daemon the store changed; none running is fine. */
static void nudge_daemon(struct cli *cli, const char *profile)
{
	struct error e = {0};
	cJSON *req = cli_request("refresh"), *rep;

	cJSON_AddStringToObject(req, "profile", profile);
	rep = cli_call(cli->cfg, req, 65000, &e);
	if (rep)
		printf("%s: the running mount refreshed\n", profile);
	else if (e.kind != ERROR_NO_DAEMON)
		fprintf(stderr,
			"credfs: login %s: signed in, but the running mount "
			"could not refresh: %s\n",
			profile, e.msg);
	cJSON_Delete(rep);
}

static void audit_login(struct context *ctx, const char *profile,
			const char *entry)
{
	struct error e = {0};
	cJSON *o = cJSON_CreateObject();

	if (o) {
		cJSON_AddStringToObject(o, "profile", profile);
		cJSON_AddStringToObject(o, "entry", entry ? entry : "");
		cJSON_AddStringToObject(o, "command", "login");
		cJSON_AddStringToObject(o, "grant", "device_code");
	}
	if (context_audit(ctx, "store", o, &e) < 0) {
		error_prefix(&e, "login %s", profile);
		cli_fail(&e);
	}
}

/* The outcome of a poll that ended the flow, as the exit status. */
static int finish(const char *profile, int r, const struct error *e)
{
	struct error m = *e;

	switch (r) {
	case -EACCES:
		return cli_errorf(1,
				  "login %s: the sign-in was denied at the "
				  "provider (access_denied)",
				  profile);
	case -ETIMEDOUT:
		return cli_errorf(1,
				  "login %s: the code expired before it was "
				  "approved (expired_token); run credfs login "
				  "%s again",
				  profile, profile);
	default:
		error_prefix(&m, "login %s", profile);
		return cli_fail(&m);
	}
}

int login_device(struct cli *cli, const struct profile_cfg *pc)
{
	const char *profile = pc->name, *entry = cfg_get(pc->sec, "secret");
	struct context *ctx = NULL;
	struct oauth2_device d;
	struct cred *c = NULL;
	struct error e = {0};
	bool tty = isatty(2), started = false;
	int r, rc = 1, last_interval;

	if (context_open(cli->cfg,
			 CONTEXT_STORE | CONTEXT_AUDIT |
			     (isatty(0) ? CONTEXT_INTERACTIVE : 0),
			 &ctx, &e) < 0) {
		error_prefix(&e, "login %s", profile);
		return cli_fail(&e);
	}
	struct provider_req req = {
	    .profile_name = profile,
	    .common = &pc->common,
	    .state = pc->state,
	    .store = ctx->store,
	    .timeout_ms = 30000,
	};
	if ((r = oauth2_device_start(&req, &d, &e)) < 0) {
		error_prefix(&e, "login %s", profile);
		rc = cli_fail(&e);
		goto out;
	}
	started = true;
	printf("To sign in %s, open %s\nand enter the code: %s\n", profile,
	       d.verification_uri, d.user_code);
	if (d.verification_uri_complete[0])
		printf("(or open %s)\n", d.verification_uri_complete);
	printf("The code expires in %ld s; checking every %d s.\n",
	       (long)(d.expires - time(NULL)), d.interval);
	fflush(stdout);
	do {
		last_interval = d.interval;
		wait_poll(profile, d.interval, d.expires, tty);
		error_clear(&e);
		r = oauth2_device_poll(&req, &d, &c, &e);
		if (r == -EAGAIN && d.interval > last_interval)
			fprintf(stderr,
				"%s%s: the server asked to slow down "
				"(slow_down); checking every %d s\n",
				tty ? "\n" : "", profile, d.interval);
		else if (r == -EAGAIN && !tty)
			fprintf(stderr, "%s: not yet: %s\n", profile, e.msg);
	} while (r == -EAGAIN);
	if (tty)
		fputc('\n', stderr);
	if (r < 0) {
		rc = finish(profile, r, &e);
		goto out;
	}
	printf("%s: signed in; the refresh token is sealed in store entry "
	       "%s\n",
	       profile, entry ? entry : "-");
	fflush(stdout);
	audit_login(ctx, profile, entry);
	nudge_daemon(cli, profile);
	rc = 0;
out:
	cred_unref(c);
	if (started)
		oauth2_device_free(&d);
	context_free(ctx);
	return rc;
}
