/* demo: a throw-away mount with a refreshing credential, to try credfs
 * with nothing set up. */
#include "core/util.h"
#include "providers/registry.h"
#include "cli/cli.h"
#include "core/error.h"
#include "engine/context.h"
#include "core/config.h"
#include "core/cred.h"
#include "daemon/ctl.h"
#include "access/audit.h"
#include "cli/audit_cmd.h"
#include "daemon/daemon.h"
#include "crypto/store.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t demo_stop;

static void on_signal(int sig)
{
	demo_stop = 1;
}

static int write_file(const char *path, mode_t mode, const char *text)
{
	FILE *f = fopen(path, "w");
	if (!f)
		return -errno;
	fputs(text, f);
	if (fclose(f) != 0)
		return -errno;
	return chmod(path, mode) < 0 ? -errno : 0;
}

/* The exec source: a credential_process helper whose session lasts
 * 60 seconds, so the refresh happens while the user watches. */
static const char helper[] =
    "#!/bin/sh\n"
    "# demo credential_process helper: a new 60-second session per run\n"
    "rnd() { od -An -N\"$1\" -tx1 /dev/urandom | tr -d ' \\n'; }\n"
    "exp=$(date -u -d '+60 seconds' +%Y-%m-%dT%H:%M:%SZ)\n"
    "id=ASIADEMO$(rnd 6 | tr a-f A-F)\n"
    "printf '{\"Version\": 1, \"AccessKeyId\": \"%s\", "
    "\"SecretAccessKey\": \"%s\", \"SessionToken\": \"%s\", "
    "\"Expiration\": \"%s\"}\\n' \"$id\" \"$(rnd 20)\" \"$(rnd 48)\" "
    "\"$exp\"\n";

/* One step of the walkthrough: what it shows, the command line as a user
 * would type it, then its output (stderr too, in order) and exit status. */
static void demo_step(int n, const char *why, const char *shown,
		      char *const cmd[], const char *dir)
{
	int st = 0;

	printf("\n%d. %s\n   $ %s\n", n, why, shown);
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		char creds[PATH_MAX], conf[PATH_MAX];
		snprintf(creds, sizeof(creds), "%s/aws/credentials", dir);
		snprintf(conf, sizeof(conf), "%s/aws/config", dir);
		setenv("AWS_SHARED_CREDENTIALS_FILE", creds, 1);
		setenv("AWS_CONFIG_FILE", conf, 1);
		setenv("AWS_PAGER", "", 1);
		dup2(1, 2);
		execvp(cmd[0], cmd);
		printf("   (%s: %s)\n", cmd[0], strerror(errno));
		_exit(127);
	}
	if (pid > 0)
		while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
			;
	if (pid < 0 || !WIFEXITED(st) || WEXITSTATUS(st))
		printf("   (exit status %d)\n",
		       pid > 0 && WIFEXITED(st) ? WEXITSTATUS(st) : -1);
	fflush(stdout);
}

/* The story, run here in order: a read, the AWS CLI reading the same
 * file, a denied read, and what the audit log recorded of them. */
static void demo_walkthrough(const char *dir)
{
	char creds[PATH_MAX], cfgp[PATH_MAX], self[PATH_MAX], line[PATH_MAX + 64];
	ssize_t k = readlink("/proc/self/exe", self, sizeof(self) - 1);

	self[k > 0 ? k : 0] = 0;
	snprintf(creds, sizeof(creds), "%s/aws/credentials", dir);
	snprintf(cfgp, sizeof(cfgp), "%s/config", dir);
	printf("\nThe walkthrough, run for you:\n");
	snprintf(line, sizeof(line), "cat %s", creds);
	demo_step(1,
		  "A tool reads the credentials file; credfs renders it at "
		  "open from the sealed\n   store (default) and the "
		  "exec source (session), after the policy admits cat:",
		  line, (char *const[]){"/usr/bin/cat", creds, NULL}, dir);
	demo_step(2,
		  "The unmodified AWS CLI reads the same file "
		  "(AWS_SHARED_CREDENTIALS_FILE points\n   into the mount):",
		  "aws configure list --profile session",
		  (char *const[]){"aws", "configure", "list", "--profile",
				  "session", NULL},
		  dir);
	snprintf(line, sizeof(line), "head %s", creds);
	demo_step(3,
		  "A program no rule admits is refused (EACCES), and the "
		  "refusal is audited:",
		  line, (char *const[]){"head", creds, NULL}, dir);
	snprintf(line, sizeof(line), "credfs -c %s audit tail", cfgp);
	demo_step(4,
		  "The audit log: who opened what, with which binary and "
		  "key id, never a secret:",
		  line,
		  (char *const[]){self, "-c", cfgp, "audit", "tail", NULL},
		  dir);
	snprintf(line, sizeof(line), "credfs -c %s status", cfgp);
	demo_step(5, "Each profile's state and when it expires:", line,
		  (char *const[]){self, "-c", cfgp, "status", NULL}, dir);
}

int cmd_demo(struct cli *cli, int argc, char **argv)
{
	char dir[PATH_MAX] = "", path[PATH_MAX], text[8192];
	struct error err = {0};
	const char *given = NULL;
	int duration = 0, r = 1;
	bool made = false;
	struct config *cfg = NULL;
	struct diag d = {0};

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--duration") && i + 1 < argc) {
			if (util_duration_parse(argv[++i], &duration) < 0) {
				fprintf(stderr,
					"credfs: demo: --duration: '%s' "
					"is not a duration\n",
					argv[i]);
				return 2;
			}
		} else if (!given && argv[i][0] != '-') {
			given = argv[i];
		} else {
			fprintf(stderr,
				"usage: credfs demo [--duration T] [DIR]\n");
			return 2;
		}
	}
	if (given) {
		if (mkdir(given, 0700) < 0 && errno != EEXIST) {
			fprintf(stderr, "credfs: demo: %s: %s\n", given,
				strerror(errno));
			return 1;
		}
		if (!realpath(given, dir)) {
			fprintf(stderr, "credfs: demo: %s: %s\n", given,
				strerror(errno));
			return 1;
		}
	} else {
		snprintf(dir, sizeof(dir), "/tmp/credfs-demo-XXXXXX");
		if (!mkdtemp(dir)) {
			fprintf(stderr, "credfs: demo: mkdtemp: %s\n",
				strerror(errno));
			return 1;
		}
		made = true;
	}
	chmod(dir, 0700);
	snprintf(path, sizeof(path), "%s/aws", dir);
	mkdir(path, 0700);
	snprintf(path, sizeof(path), "%s/aws/config", dir);
	snprintf(text, sizeof(text),
		 "# an existing file: it passes through the mount untouched\n"
		 "[default]\nregion = us-east-1\n\n"
		 "[profile session-process]\n"
		 "credential_process = cat %s/aws/process/session.json\n",
		 dir);
	write_file(path, 0600, text);
	snprintf(path, sizeof(path), "%s/session-helper.sh", dir);
	write_file(path, 0700, helper);
	snprintf(path, sizeof(path), "%s/config", dir);
	uid_t me = getuid();
	snprintf(text, sizeof(text),
		 "# credfs demo configuration\n"
		 "[credfs]\n"
		 "state_dir = %s/state\n"
		 "key = keyfile:%s/state/demo.key\n"
		 "refresh_before = 15m\n"
		 "\n"
		 "[profile base]\n"
		 "provider = aws-static\n"
		 "secret = demo-base\n"
		 "\n"
		 "[profile session]\n"
		 "provider = exec\n"
		 "command = %s/session-helper.sh\n"
		 "\n"
		 "[file credentials]\n"
		 "format = aws-credentials\n"
		 "profiles = default=base session\n"
		 "allow = uid:%u exe:/usr/bin/cat\n"
		 "allow = uid:%u exe:**/python3*\n"
		 "allow = uid:%u exe:**/aws\n"
		 "\n"
		 "[file process/session.json]\n"
		 "format = aws-process\n"
		 "profiles = session\n"
		 "allow = uid:%u exe:/usr/bin/cat\n"
		 "\n"
		 "[file env/session.sh]\n"
		 "format = env\n"
		 "profiles = session\n"
		 "allow = uid:%u exe:/usr/bin/cat\n",
		 dir, dir, dir, me, me, me, me, me);
	write_file(path, 0600, text);
	snprintf(path, sizeof(path), "%s/state", dir);
	mkdir(path, 0700);

	snprintf(path, sizeof(path), "%s/config", dir);
	if (config_load(path, providers_all, &cfg, &d) < 0) {
		for (size_t i = 0; i < d.n; i++)
			fprintf(stderr, "%s\n", d.msgs[i]);
		goto out;
	}
	/* Demo source keys, sealed in the store like real ones would be. */
	struct context *ctx = NULL;
	struct cred *c = cred_new();
	int pr = -ENOMEM;
	if (!c ||
	    context_open(cfg, CONTEXT_STORE | CONTEXT_AUDIT, &ctx, &err) < 0 ||
	    cred_set(c, "access_key_id", "AKIADEMOEXAMPLE00001") < 0 ||
	    cred_set(c, "secret_access_key",
		     "demo/secret/not/a/real/key/0000000000000") < 0 ||
	    (pr = store_put(ctx->store, "demo-base", c, &err)) < 0) {
		if (!err.code)
			error_set(&err, pr, "store: %s", strerror(-pr));
		error_prefix(&err, "demo");
		cli_fail(&err);
		cred_unref(c);
		context_free(ctx);
		goto out;
	}
	cred_unref(c);
	context_free(ctx);

	snprintf(path, sizeof(path), "%s/aws", dir);
	if (daemon_mount(cfg, path, false) != 0)
		goto out;

	printf("credfs demo: mounted %s/aws\n\n"
	       "The directory holds virtual files generated at open from a "
	       "sealed store\n"
	       "and a credential_process helper whose sessions last 60 s "
	       "(refreshed at 30 s).\n",
	       dir);
	/* The first session now, so there is something to show and to
	 * watch; it is then kept fresh ahead of expiry like any profile in
	 * use. */
	cJSON *first = cJSON_CreateObject();
	cJSON_AddStringToObject(first, "cmd", "refresh");
	cJSON_AddStringToObject(first, "profile", "session");
	cJSON_Delete(ctl_call(cfg, first, 30000, &err));
	demo_walkthrough(dir);
	printf("\nTry them yourself, in another terminal:\n"
	       "  cat %s/aws/credentials\n"
	       "  cat %s/aws/config                      # passes through\n"
	       "  AWS_SHARED_CREDENTIALS_FILE=%s/aws/credentials \\\n"
	       "    AWS_CONFIG_FILE=%s/aws/config aws configure list "
	       "--profile session\n"
	       "  head %s/aws/credentials                # denied: no rule "
	       "admits head\n"
	       "  credfs -c %s/config status\n"
	       "  credfs -c %s/config audit tail\n"
	       "  credfs -c %s/config audit verify\n\n",
	       dir, dir, dir, dir, dir, dir, dir, dir);
	fflush(stdout);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	/* --duration: how long to watch, after the walkthrough */
	time_t until = duration ? time(NULL) + duration : 0;
	double last_fetches = -1;
	printf("Watching the session refresh%s (Ctrl-C ends the demo)...\n",
	       duration ? " for the given duration" : "");
	while (!demo_stop && (!until || time(NULL) < until)) {
		cJSON *req = cJSON_CreateObject();
		cJSON_AddStringToObject(req, "cmd", "status");
		cJSON *rep = ctl_call(cfg, req, 2000, &err), *it;
		if (!rep) {
			error_prefix(&err, "demo");
			cli_fail(&err);
			break;
		}
		cJSON_ArrayForEach(
		    it, cJSON_GetObjectItemCaseSensitive(rep, "profiles"))
		{
			cJSON *p =
			    cJSON_GetObjectItemCaseSensitive(it, "profile");
			if (!cJSON_IsString(p) ||
			    strcmp(p->valuestring, "session"))
				continue;
			double f =
			    cJSON_GetObjectItemCaseSensitive(it, "fetches")
				->valuedouble;
			cJSON *k =
			    cJSON_GetObjectItemCaseSensitive(it, "key_id");
			cJSON *e =
			    cJSON_GetObjectItemCaseSensitive(it, "expires");
			if (f != last_fetches && cJSON_IsString(k)) {
				char now[32];
				util_time_format(time(NULL), now, sizeof(now));
				printf("%s  session refreshed: key %s, expires "
				       "%s\n",
				       now, k->valuestring,
				       cJSON_IsString(e) ? e->valuestring
							 : "-");
				fflush(stdout);
				last_fetches = f;
			}
		}
		cJSON_Delete(rep);
		for (int i = 0; i < 10 && !demo_stop; i++)
			usleep(100000);
	}
	snprintf(path, sizeof(path), "%s/aws", dir);
	daemon_umount(cfg, path, false);
	printf("\ncredfs demo: unmounted; audit log verified:\n");
	fflush(stdout);
	if (strcmp(cfg->audit_log, "syslog"))
		audit_cmd_verify(cfg->audit_log, stdout);
	r = 0;
out:
	if (made && r == 0)
		printf("(state kept in %s)\n", dir);
	diag_free(&d);
	config_free(cfg);
	return r;
}
