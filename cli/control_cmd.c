/* control_cmd: status, lock, unlock, refresh, login and revoke — thin
 * clients of the daemon's control socket. */
#include "cli/aws_cmd.h"
#include "cli/cli.h"
#include "cli/login_device.h"
#include "cli/console.h"
#include "core/config.h"
#include "core/error.h"
#include "core/util.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
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

/* call() with a countdown on a terminal while the daemon works (a
 * sign-in, a slow provider): "PROFILE: waiting (58s left)", cleared at the
 * end.  Without a terminal on stderr, call() as is. */
struct waiting {
	struct cli *cli;
	const char *what;
	cJSON *req, *rep;
	int timeout_ms;
	atomic_bool done;
};

static void *waiting_thread(void *arg)
{
	struct waiting *w = arg;

	w->rep = call(w->cli, w->what, w->req, w->timeout_ms);
	atomic_store(&w->done, true);
	return NULL;
}

static cJSON *call_waiting(struct cli *cli, const char *what, cJSON *req,
			   int timeout_ms)
{
	struct waiting w = {cli, what, req, NULL, timeout_ms, false};
	pthread_t th;
	long start = util_mono_ms();
	bool shown = false;

	if (!isatty(2) || pthread_create(&th, NULL, waiting_thread, &w))
		return call(cli, what, req, timeout_ms);
	while (!atomic_load(&w.done)) {
		long left = (timeout_ms - (util_mono_ms() - start)) / 1000;
		/* quiet for the first second: most answers come sooner */
		if (util_mono_ms() - start >= 1000) {
			fprintf(stderr, "\r%s: waiting (%lds left)\033[K", what,
				left > 0 ? left : 0);
			shown = true;
		}
		for (int i = 0; i < 10 && !atomic_load(&w.done); i++)
			usleep(100000);
	}
	pthread_join(th, NULL);
	if (shown)
		fprintf(stderr, "\r\033[K");
	return w.rep;
}

static double jnum(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

/* `credfs status`: aligned tables, coloured on a terminal unless NO_COLOR
 * is set (https://no-color.org); plain when piped; --json for scripts. */
#define ST_COLS 6
struct st_table {
	bool color;
	int ncols;
	size_t n, cap;
	char *(*cell)[ST_COLS];	     /* n rows; row 0 the header */
	const char *(*sgr)[ST_COLS]; /* SGR colour of a cell, or NULL */
};

static void st_add(struct st_table *t, const char *const *cells,
		   const char *const *sgr)
{
	if (t->n == t->cap) {
		size_t cap = t->cap ? 2 * t->cap : 16;
		void *c = realloc(t->cell, cap * sizeof(*t->cell));
		if (!c)
			return;
		t->cell = c;
		if (!(c = realloc(t->sgr, cap * sizeof(*t->sgr))))
			return;
		t->sgr = c;
		t->cap = cap;
	}
	for (int c = 0; c < ST_COLS; c++) {
		t->cell[t->n][c] =
		    strdup(c < t->ncols && cells[c] ? cells[c] : "");
		t->sgr[t->n][c] = sgr && c < t->ncols ? sgr[c] : NULL;
	}
	t->n++;
}

/* Prints and frees the rows; the header bold, the last column unpadded. */
static void st_print(struct st_table *t)
{
	size_t w[ST_COLS] = {0};

	for (size_t r = 0; r < t->n; r++)
		for (int c = 0; c < t->ncols; c++)
			if (t->cell[r][c] && strlen(t->cell[r][c]) > w[c])
				w[c] = strlen(t->cell[r][c]);
	for (size_t r = 0; r < t->n; r++) {
		for (int c = 0; c < t->ncols; c++) {
			const char *v = t->cell[r][c] ? t->cell[r][c] : "";
			const char *sgr = r == 0 ? "1" : t->sgr[r][c];
			if (t->color && sgr)
				printf("\033[%sm%s\033[0m", sgr, v);
			else
				printf("%s", v);
			if (c < t->ncols - 1)
				printf("%*s", (int)(w[c] - strlen(v) + 2), "");
		}
		printf("\n");
		for (int c = 0; c < ST_COLS; c++)
			free(t->cell[r][c]);
	}
	free(t->cell);
	free(t->sgr);
	t->cell = NULL;
	t->sgr = NULL;
	t->n = t->cap = 0;
}

/* "in 42m" / "expired 3m ago" (future), or "3m ago"; "-" for none. */
static void st_when(const cJSON *ts, bool future, char *buf, size_t len)
{
	time_t t;
	char d[32];

	if (!cJSON_IsString(ts) || util_time_parse(ts->valuestring, &t) < 0) {
		snprintf(buf, len, "-");
		return;
	}
	long delta = (long)(t - time(NULL));
	util_duration_format(delta, d, sizeof(d));
	if (future && delta > 0)
		snprintf(buf, len, "in %s", d);
	else if (future)
		snprintf(buf, len, "expired %s ago", d);
	else
		snprintf(buf, len, "%s ago", d);
}

/* The files of cfg that show profile: "a, b". */
static void st_files(const struct config *cfg, const char *profile, char *buf,
		     size_t len)
{
	size_t o = 0;
	int idx = config_find_profile(cfg, profile);

	snprintf(buf, len, "-");
	for (size_t i = 0; idx >= 0 && i < cfg->nfiles && o < len; i++)
		for (size_t k = 0; k < cfg->files[i].nprof; k++)
			if (cfg->files[i].prof[k] == idx) {
				o += (size_t)snprintf(buf + o, len - o, "%s%s",
						      o ? ", " : "",
						      cfg->files[i].path);
				break;
			}
}

/* The state as shown, and its colour. */
static const char *st_state(const char *st, const char **sgr)
{
	*sgr = "33"; /* yellow: stale, refreshing */
	if (!strcmp(st, "fresh"))
		*sgr = "32";
	else if (!strcmp(st, "failed") || !strcmp(st, "expired"))
		*sgr = "31";
	else if (!strcmp(st, "empty"))
		*sgr = "2";
	if (!strcmp(st, "failed"))
		return "failing";
	return strcmp(st, "empty") ? st : "not fetched yet";
}

static void status_print(const struct config *cfg, cJSON *rep, bool color)
{
	static const char *const phead[] = {"PROFILE", "PROVIDER",  "STATE",
					    "EXPIRES", "REFRESHED", "FILES"};
	static const char *const fhead[] = {"FILE", "FORMAT", "OPENS",
					    "DENIALS"};
	struct st_table t = {.color = color, .ncols = 6};
	const cJSON *profiles =
	    cJSON_GetObjectItemCaseSensitive(rep, "profiles");
	char exp[64], ref[64], files[512], opens[32], denials[32];
	const cJSON *it;

	printf("mount %s (pid %d)", cli_jstr(rep, "mountpoint"),
	       (int)jnum(rep, "pid"));
	if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(rep, "locked")))
		printf("  %sLOCKED: every open is refused (credfs unlock)%s",
		       color ? "\033[1;31m" : "", color ? "\033[0m" : "");
	printf("\n\n");
	st_add(&t, phead, NULL);
	cJSON_ArrayForEach(it, profiles)
	{
		const cJSON *x =
		    cJSON_GetObjectItemCaseSensitive(it, "expires");
		const char *sgr, *state = st_state(cli_jstr(it, "state"), &sgr);

		if (!cJSON_IsString(x))
			x = cJSON_GetObjectItemCaseSensitive(it, "expired");
		st_when(x, true, exp, sizeof(exp));
		if (!strcmp(exp, "-") && !strcmp(cli_jstr(it, "state"), "fresh"))
			snprintf(exp, sizeof(exp), "never"); /* long-lived */
		st_when(cJSON_GetObjectItemCaseSensitive(it, "last_refresh"),
			false, ref, sizeof(ref));
		st_files(cfg, cli_jstr(it, "profile"), files, sizeof(files));
		const char *cells[] = {cli_jstr(it, "profile"),
				       cli_jstr(it, "provider"),
				       state,
				       exp,
				       ref,
				       files};
		const char *sgrs[] = {
		    NULL, NULL, sgr, !strncmp(exp, "expired", 7) ? "31" : NULL,
		    NULL, NULL};
		st_add(&t, cells, sgrs);
	}
	st_print(&t);
	/* Reasons below the table, so the columns stay aligned. */
	cJSON_ArrayForEach(it, profiles)
	{
		const char *err = cli_jstr(it, "last_error");
		const char *bad = cli_jstr(it, "integrity");
		bool failing = !strcmp(cli_jstr(it, "state"), "failed") ||
			       !strcmp(cli_jstr(it, "state"), "expired");
		if (strcmp(err, "-"))
			printf("%s%s  %s: %s%s\n",
			       color ? (failing ? "\033[31m" : "\033[33m") : "",
			       cli_jstr(it, "profile"),
			       failing ? "failing" : "last refresh failed", err,
			       color ? "\033[0m" : "");
		if (strcmp(bad, "-"))
			printf("%sINTEGRITY %s: %s%s\n",
			       color ? "\033[1;31m" : "",
			       cli_jstr(it, "profile"), bad,
			       color ? "\033[0m" : "");
	}
	it = cJSON_GetObjectItemCaseSensitive(rep, "audit");
	if (cJSON_IsString(cJSON_GetObjectItemCaseSensitive(it, "error")))
		printf("%sAUDIT REFUSING: %s%s\n", color ? "\033[1;31m" : "",
		       cli_jstr(it, "error"), color ? "\033[0m" : "");
	if (cJSON_IsString(cJSON_GetObjectItemCaseSensitive(it, "warning")))
		printf("%sAUDIT WARNING: %s%s\n", color ? "\033[33m" : "",
		       cli_jstr(it, "warning"), color ? "\033[0m" : "");
	printf("\n");
	t.ncols = 4;
	st_add(&t, fhead, NULL);
	cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(rep, "files"))
	{
		snprintf(opens, sizeof(opens), "%.0f", jnum(it, "opens"));
		snprintf(denials, sizeof(denials), "%.0f", jnum(it, "denials"));
		const char *cells[] = {cli_jstr(it, "file"),
				       cli_jstr(it, "format"), opens, denials};
		const char *sgrs[] = {NULL, NULL, NULL,
				      jnum(it, "denials") > 0 ? "33" : NULL};
		st_add(&t, cells, sgrs);
	}
	st_print(&t);
}

int cmd_status(struct cli *cli, int argc, char **argv)
{
	bool json = false;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json"))
			return cli_usage("status [--json]");
		json = true;
	}
	cJSON *rep = call(cli, "status", cli_request("status"), 5000);
	if (!rep)
		return 1;
	if (json) {
		cJSON_DeleteItemFromObject(rep, "ok");
		char *s = cJSON_Print(rep);
		printf("%s\n", s);
		cJSON_free(s);
	} else {
		const char *nc = getenv("NO_COLOR");
		status_print(cli->cfg, rep, isatty(1) && !(nc && *nc));
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

	for (int i = 1; i < argc; i++) /* aws-vault login: console_cmd.c */
		if (!strcmp(argv[i], "--console"))
			return console_login(cli, argc, argv);
	if (argc != 2)
		return cli_usage("login PROFILE");
	if ((r = cli_need_profile(cfg, "login", argv[1])))
		return r;
	int idx = config_find_profile(cfg, argv[1]);
	if (login_device_applies(&cfg->profiles[idx]))
		return login_device(cli, &cfg->profiles[idx]);
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
	cJSON *rep = call_waiting(cli, argv[1], req, 65000);
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
	cJSON *rep = call_waiting(cli, argv[1], req, 65000);
	if (!rep)
		return 1;
	printf("%s: refreshed\n", argv[1]);
	cJSON_Delete(rep);
	return 0;
}
