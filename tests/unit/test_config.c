/* config: every problem reported as FILE:LINE: message, all at once. */
#include "core/util.h"
#include "providers/registry.h"
#include "tests/tap.h"
#include "core/config.h"
#include "core/rules.h"

#include <errno.h>
#include <stdbool.h>
#include <unistd.h>

static char dir[] = "/tmp/credfs-test-config-XXXXXX";

static const char *write_cfg(const char *name, const char *text)
{
	static char path[512];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "w");
	fputs(text, f);
	fclose(f);
	return path;
}

static int has(const struct diag *d, const char *needle)
{
	for (size_t i = 0; i < d->n; i++)
		if (strstr(d->msgs[i], needle))
			return 1;
	return 0;
}

static void dump(const struct diag *d)
{
	for (size_t i = 0; i < d->n; i++)
		printf("#   %s\n", d->msgs[i]);
}

int main(void)
{
	struct config *c = NULL;
	struct diag d = {0};
	const char *p;
	int r, secs;

	if (!mkdtemp(dir))
		return 1;

	ok(util_duration_parse("90s", &secs) == 0 && secs == 90, "90s");
	ok(util_duration_parse("15m", &secs) == 0 && secs == 900, "15m");
	ok(util_duration_parse("1h30m", &secs) == 0 && secs == 5400, "1h30m");
	ok(util_duration_parse("12", &secs) == 0 && secs == 12,
	   "bare seconds: 12");
	ok(util_duration_parse("900", &secs) == 0 && secs == 900,
	   "bare seconds: 900");
	ok(util_duration_parse("0", &secs) == 0 && secs == 0, "bare 0");
	ok(util_duration_parse("99999999999", &secs) < 0,
	   "bare seconds beyond a year refused");
	ok(util_duration_parse("1h30", &secs) < 0,
	   "a unitless number after a unit refused");
	ok(util_duration_parse("5x", &secs) < 0, "bad unit refused");
	ok(util_duration_parse("", &secs) < 0, "empty refused");
	ok(util_duration_parse("-5m", &secs) < 0, "negative refused");

	setenv("CREDFS_T_HOME", "/h", 1);
	char *e = config_expand_path("$CREDFS_T_HOME/x/${CREDFS_T_HOME}");
	is_str(e, "/h/x//h", "$VAR and ${VAR} expand");
	free(e);

	p = write_cfg("good", "# comment\n"
			      "[credfs]\n"
			      "state_dir = /tmp/x   # trailing comment\n"
			      "refresh_before = 10m\n"
			      "open_timeout = 3s\n"
			      "audit_sync = always\n"
			      "[profile base]\n"
			      "provider = aws-static\n"
			      "secret = aws-base\n"
			      "[profile tok]\n"
			      "provider = exec\n"
			      "command = /bin/echo '{}'\n"
			      "timeout = 2m\n"
			      "region = eu-west-1\n"
			      "[file credentials]\n"
			      "format = aws-credentials\n"
			      "profiles = base default=base\n"
			      "mode = 0440\n"
			      "[file sub/dir/token]\n"
			      "format = token\n"
			      "profiles = tok\n"
			      "newline = yes\n");
	r = config_load(p, providers_all, &c, &d);
	ok(r == 0, "good config loads");
	dump(&d);
	if (c) {
		is_str(c->state_dir, "/tmp/x", "trailing # comment stripped");
		ok(c->refresh_before == 600, "refresh_before");
		ok(c->open_timeout == 3, "open_timeout");
		ok(c->nprofiles == 2 && c->nfiles == 2, "2 profiles, 2 files");
		ok(c->files[0].nprof == 2, "two sections in credentials");
		is_str(c->files[0].labels[1], "default", "NAME=PROFILE label");
		ok(c->files[0].prof[1] == 0, "label maps to profile base");
		ok(c->files[0].mode == 0440, "mode parsed");
		ok(c->files[1].newline, "newline = yes");
		ok(config_find_file(c, "sub/dir/token") != NULL, "nested file");
		/* parsed once, at load, into typed state */
		const struct profile_cfg *tok = &c->profiles[1];
		ok(tok->state && !strcmp(tok->state, "/bin/echo '{}'"),
		   "exec: the command is its typed state");
		ok(tok->common.timeout == 120 && tok->common.region &&
		       !strcmp(tok->common.region, "eu-west-1") &&
		       !tok->common.endpoint && !tok->common.has_source,
		   "common keys parsed: timeout 120 s, region");
		ok(c->profiles[0].state && c->profiles[0].free_state,
		   "aws-static has state");
		ok(!c->profiles[0].ops->cacheable && tok->ops->cacheable,
		   "cacheable: aws-static no, exec yes");
		ok(c->profiles[0].ops->source == PROVIDER_SOURCE_NONE &&
		       provider_find("aws-assume-role")->source ==
			   PROVIDER_SOURCE_REQUIRED &&
		       provider_find("aws-web-identity")->source ==
			   PROVIDER_SOURCE_OPTIONAL,
		   "source is an enum per provider");
	}
	config_free(c);
	diag_free(&d);

	p = write_cfg("bad", "[credfs]\n"		 /* 1 */
			     "bogus = 1\n"		 /* 2 */
			     "refresh_before = soon\n"	 /* 3 */
			     "[weird]\n"		 /* 4 */
			     "x = 1\n"			 /* 5 */
			     "[profile a]\n"		 /* 6 */
			     "provider = exec\n"	 /* 7 */
			     "command = true\n"		 /* 8 */
			     "colour = blue\n"		 /* 9 */
			     "[profile b]\n"		 /* 10 */
			     "provider = nosuch\n"	 /* 11 */
			     "[profile c]\n"		 /* 12 */
			     "provider = aws-static\n"	 /* 13 */
			     "secret = s\n"		 /* 14 */
			     "source = ghost\n"		 /* 15 */
			     "[file t]\n"		 /* 16 */
			     "format = token\n"		 /* 17 */
			     "profiles = c\n"		 /* 18 */
			     "[file j]\n"		 /* 19 */
			     "format = json\n"		 /* 20 */
			     "profiles = a c\n"		 /* 21 */
			     "mode = 0644\n"		 /* 22 */
			     "this line has no equals\n" /* 23 */
			     "[file k]\n"		 /* 24 */
			     "format = yaml\n"		 /* 25 */
			     "profiles = nobody\n"	 /* 26 */
			     "[file t/under]\n"		 /* 27 */
			     "format = json\n"		 /* 28 */
			     "profiles = a\n");		 /* 29 */
	r = config_load(p, providers_all, &c, &d);
	ok(r == -EINVAL, "bad config refused");
	dump(&d);
	char want[1024];
#define HAS(line, text)                                                        \
	snprintf(want, sizeof(want), "%s:%d: %s", p, line, text);              \
	ok(has(&d, want), "reports %s", want)
	HAS(2, "unknown key 'bogus' in [credfs]");
	HAS(3, "refresh_before: 'soon' is not a duration");
	HAS(4, "unknown section [weird]");
	HAS(9, "profile a: unknown key 'colour'");
	HAS(11, "profile b: unknown provider 'nosuch'");
	HAS(15, "profile c: provider aws-static takes no source");
	HAS(15, "profile c: source 'ghost' is not a profile");
	HAS(18, "file t: format token cannot show profile c");
	HAS(21, "file j: format json shows exactly one profile, not 2");
	HAS(22, "file j: mode 0644: virtual files are read-only");
	HAS(23, "expected 'key = value' or '[section]'");
	HAS(25, "file k: unknown format 'yaml'");
	HAS(26, "file k: 'nobody' is not a profile");
	HAS(27, "file t/under: 't' is a file, not a directory");
	{
		/* sorted by the line kept with each message, which is the
		 * line its text names */
		bool sorted = d.lines != NULL;
		for (size_t i = 0; sorted && i < d.n; i++) {
			char pre[600];
			snprintf(pre, sizeof(pre), "%s:%d: ", p, d.lines[i]);
			if ((i && d.lines[i - 1] > d.lines[i]) ||
			    strncmp(d.msgs[i], pre, strlen(pre)))
				sorted = false;
		}
		ok(sorted, "diagnostics sorted by their stored line");
	}
	config_free(c);
	diag_free(&d);

	p = write_cfg("cycle", "[profile x]\n"			      /* 1 */
			       "provider = aws-assume-role\n"	      /* 2 */
			       "role_arn = arn:aws:iam::1:role/r\n"   /* 3 */
			       "source = y\n"			      /* 4 */
			       "[profile y]\n"			      /* 5 */
			       "provider = aws-assume-role\n"	      /* 6 */
			       "role_arn = arn:aws:iam::1:role/r\n"   /* 7 */
			       "source = x\n"			      /* 8 */
			       "duration = forever\n"		      /* 9 */
			       "[profile z]\n"			      /* 10 */
			       "provider = aws-assume-role\n"	      /* 11 */
			       "role_arn = arn:aws:iam::1:role/r\n"); /* 12 */
	r = config_load(p, providers_all, &c, &d);
	ok(r == -EINVAL, "cycle refused");
	dump(&d);
	HAS(4, "profile x: source cycle: x -> y -> x");
	HAS(8, "profile y: source cycle: y -> x -> y");
	HAS(10, "profile z: provider aws-assume-role needs 'source = PROFILE'");
	ok(d.n >= 4, "and the bad duration too (%zu problems)", d.n);
	config_free(c);
	diag_free(&d);

	/* a long list over several profiles lines; at most 64 per file */
	{
		char big[16384];
		size_t o = 0;
		for (int i = 0; i < 70; i++)
			o += (size_t)snprintf(big + o, sizeof(big) - o,
					      "[profile p%d]\nprovider = exec\n"
					      "command = true\n",
					      i);
		o +=
		    (size_t)snprintf(big + o, sizeof(big) - o,
				     "[file few]\nformat = aws-credentials\n"
				     "profiles = p0 p1\nprofiles = p2\n"
				     "[file many]\nformat = aws-credentials\n");
		for (int l = 0; l < 7; l++) {
			o += (size_t)snprintf(big + o, sizeof(big) - o,
					      "profiles =");
			for (int i = l * 10; i < l * 10 + 10; i++)
				o += (size_t)snprintf(big + o, sizeof(big) - o,
						      " p%d", i);
			o += (size_t)snprintf(big + o, sizeof(big) - o, "\n");
		}
		p = write_cfg("many", big);
		r = config_load(p, providers_all, &c, &d);
		ok(r == -EINVAL && d.n == 1 &&
		       strstr(d.msgs[0], "more than 64 profiles"),
		   "more than 64 profiles in a file is refused");
		dump(&d);
		const struct file_cfg *few =
		    c ? config_find_file(c, "few") : NULL;
		ok(few && few->nprof == 3, "repeated profiles lines add up");
		config_free(c);
		diag_free(&d);
	}

	/* credfs exec: exec rules, exportable, deny_preload. */
	p = write_cfg("exec", "[credfs]\n"
			      "deny_preload = yes\n"
			      "[profile base]\n"
			      "provider = aws-static\n"
			      "secret = aws-base\n"
			      "[profile free]\n"
			      "provider = aws-static\n"
			      "secret = aws-base\n"
			      "exportable = yes\n"
			      "deny_preload = no\n"
			      "[profile root]\n"
			      "provider = exec\n"
			      "command = /bin/true\n"
			      "exec_allow = ancestor:/usr/bin/make\n"
			      "exec_allow = uid:0\n"
			      "exec_deny = cgroup:/x/**\n"
			      "[profile child]\n"
			      "provider = aws-assume-role\n"
			      "source = root\n"
			      "role_arn = arn:aws:iam::123456789012:role/r\n"
			      "[file f]\n"
			      "format = aws-credentials\n"
			      "profiles = child\n"
			      "deny_preload = no\n");
	r = config_load(p, providers_all, &c, &d);
	ok(r == 0, "exec keys load");
	dump(&d);
	if (c) {
		char why[256];
		ok(rules_count(c->profiles[2].exec_policy) == 3,
		   "three exec rules");
		ok(c->profiles[0].exec_policy->deny_preload &&
		       !c->profiles[1].exec_policy->deny_preload &&
		       !c->files[0].policy->deny_preload,
		   "deny_preload: [credfs] default, profile and file override");
		ok(config_exec_refused(c, 0, why, sizeof(why)) &&
		       strstr(why, "long-lived key"),
		   "aws-static refused: %s", why);
		ok(!config_exec_refused(c, 1, why, sizeof(why)),
		   "exportable = yes hands it out");
		ok(config_exec_refused(c, 2, why, sizeof(why)) &&
		       strstr(why, "source of profile child"),
		   "a source root refused: %s", why);
		ok(!config_exec_refused(c, 3, why, sizeof(why)),
		   "a chain's link is not refused");
		config_free(c);
		c = NULL;
	}
	diag_free(&d);
	p = write_cfg("exec-bad", "[profile a]\n"
				  "provider = exec\n"
				  "command = /bin/true\n"
				  "exec_allow = bogus:1\n"
				  "exportable = maybe\n"
				  "deny_preload = perhaps\n"
				  "exec_allow = uid:0 profiles:a\n"
				  "[file f]\n"
				  "format = aws-credentials\n"
				  "profiles = a\n"
				  "deny_preload = 2\n");
	r = config_load(p, providers_all, &c, &d);
	ok(r == -EINVAL && has(&d, ":4: profile a: exec_allow") &&
	       has(&d, ":5: profile a: exportable: 'maybe'") &&
	       has(&d, ":6: profile a: deny_preload: 'perhaps'") &&
	       has(&d, ":7: profile a: profiles: has no meaning") &&
	       has(&d, ":11: file f: deny_preload: '2'"),
	   "bad exec keys reported at their lines");
	dump(&d);
	diag_free(&d);

	r = config_load("/nonexistent/credfs/config", providers_all, &c, &d);
	ok(r == -ENOENT && c == NULL, "missing config is ENOENT");
	ok(d.n == 1 && strstr(d.msgs[0], "cannot read config"),
	   "missing config explained");
	diag_free(&d);

	char cmd[600];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		return 1;
	return tap_done();
}
