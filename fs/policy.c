/* policy: per-file allow/deny rules over the calling process.
 *
 * Globs (exe:, ancestor:, cgroup:) are fnmatch(3) patterns with
 * FNM_PATHNAME, as in a shell: `*` stays within one path component, so
 * "exe:/usr/bin/python3*" matches /usr/bin/python3.11 but "exe:/opt/ *"
 * (no space) does not match /opt/evil/bin/x.  A pattern containing `**` is
 * matched without FNM_PATHNAME, where `*` crosses `/`, e.g.
 * "cgroup:/user.slice/ **" (no space).
 *
 * A deleted executable (" (deleted)" in /proc/PID/exe) is no longer the
 * file its path names: it never satisfies an exe:/ancestor: matcher of an
 * allow rule, but a deny rule still sees its old path, so deleting a
 * denied binary after starting it does not escape the deny.
 */
#include "policy.h"
#include "caller.h"

#include <ctype.h>
#include <errno.h>
#include <fnmatch.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum matcher_kind {
	/* Evaluation order: cheapest first, so a rule that fails on uid
	 * never walks ancestors or hashes a binary. */
	M_UID,
	M_GID,
	M_EXE,
	M_CGROUP,
	M_ANCESTOR,
	M_SHA256,
};

struct matcher {
	enum matcher_kind kind;
	union {
		uid_t uid;
		gid_t gid;
		uint8_t sha[32];
	};
	char *glob;
	int fnm_flags;
};

struct rule {
	bool allow;
	int line;
	char *text;
	struct matcher *m;
	size_t nm;
	char **profiles; /* NULL: all */
	size_t nprofiles;
};

struct policy {
	uid_t owner;
	bool deny_traced;
	unsigned needs;
	struct rule *rules;
	size_t nrules;
};

struct policy *policy_new(uid_t owner)
{
	struct policy *p = calloc(1, sizeof(*p));

	if (p)
		p->owner = owner;
	return p;
}

static void rule_clear(struct rule *r)
{
	size_t i;

	for (i = 0; i < r->nm; i++)
		free(r->m[i].glob);
	free(r->m);
	for (i = 0; i < r->nprofiles; i++)
		free(r->profiles[i]);
	free(r->profiles);
	free(r->text);
	memset(r, 0, sizeof(*r));
}

void policy_free(struct policy *p)
{
	size_t i;

	if (!p)
		return;
	for (i = 0; i < p->nrules; i++)
		rule_clear(&p->rules[i]);
	free(p->rules);
	free(p);
}

void policy_set_deny_traced(struct policy *p, bool on)
{
	p->deny_traced = on;
	if (on)
		p->needs |= CALLER_NEED_STATUS;
}

size_t policy_rule_count(const struct policy *p)
{
	return p->nrules;
}

unsigned policy_needs(const struct policy *p)
{
	return p ? p->needs : 0;
}

static bool parse_number(const char *s, unsigned long *out)
{
	char *end;

	if (!isdigit((unsigned char)*s))
		return false;
	errno = 0;
	*out = strtoul(s, &end, 10);
	return !errno && !*end && *out < 0xffffffffUL;
}

static int lookup_uid(const char *v, uid_t *out)
{
	struct passwd pw, *res = NULL;
	unsigned long n;
	char buf[4096];

	if (parse_number(v, &n)) {
		*out = (uid_t)n;
		return 0;
	}
	if (getpwnam_r(v, &pw, buf, sizeof(buf), &res) != 0 || !res)
		return -ENOENT;
	*out = res->pw_uid;
	return 0;
}

static int lookup_gid(const char *v, gid_t *out)
{
	struct group gr, *res = NULL;
	unsigned long n;
	char *buf;
	int r;

	if (parse_number(v, &n)) {
		*out = (gid_t)n;
		return 0;
	}
	/* Group entries list members and can be large. */
	buf = malloc(65536);
	if (!buf)
		return -ENOMEM;
	r = getgrnam_r(v, &gr, buf, 65536, &res);
	if (r == 0 && res)
		*out = res->gr_gid;
	free(buf);
	return r == 0 && res ? 0 : -ENOENT;
}

static int hexval(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	ch = (char)tolower((unsigned char)ch);
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	return -1;
}

static bool parse_sha(const char *v, uint8_t out[static 32])
{
	size_t i;

	if (strlen(v) != 64)
		return false;
	for (i = 0; i < 32; i++) {
		int hi = hexval(v[2 * i]), lo = hexval(v[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return false;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return true;
}

static int parse_profiles(struct rule *r, const char *v, char *err,
			  size_t errlen)
{
	const char *s = v, *comma;
	size_t len, i;
	char **list;

	if (r->profiles) {
		snprintf(err, errlen, "profiles: given twice");
		return -EINVAL;
	}
	for (;;) {
		comma = strchr(s, ',');
		len = comma ? (size_t)(comma - s) : strlen(s);
		if (!len) {
			snprintf(err, errlen, "profiles: empty profile name");
			return -EINVAL;
		}
		list = realloc(r->profiles,
			       (r->nprofiles + 1) * sizeof(*r->profiles));
		if (!list)
			return -ENOMEM;
		r->profiles = list;
		r->profiles[r->nprofiles] = strndup(s, len);
		if (!r->profiles[r->nprofiles])
			return -ENOMEM;
		for (i = 0; i < r->nprofiles; i++) {
			if (!strcmp(r->profiles[i],
				    r->profiles[r->nprofiles])) {
				snprintf(err, errlen,
					 "profiles: '%s' listed twice",
					 r->profiles[i]);
				free(r->profiles[r->nprofiles]);
				return -EINVAL;
			}
		}
		r->nprofiles++;
		if (!comma)
			return 0;
		s = comma + 1;
	}
}

static bool glob_ok(const char *v)
{
	return v[0] == '/' || v[0] == '*' || v[0] == '?' || v[0] == '[';
}

/* One "name:value" token into r. */
static int parse_token(struct rule *r, char *tok, char *err, size_t errlen)
{
	struct matcher m = {0};
	struct matcher *arr;
	char *colon = strchr(tok, ':');
	const char *name, *v;

	if (!colon) {
		snprintf(err, errlen,
			 "'%s' is not a matcher (uid:, gid:, exe:, "
			 "exe_sha256:, ancestor:, cgroup:, profiles:)",
			 tok);
		return -EINVAL;
	}
	*colon = '\0';
	name = tok;
	v = colon + 1;
	if (strcmp(name, "uid") && strcmp(name, "gid") && strcmp(name, "exe") &&
	    strcmp(name, "exe_sha256") && strcmp(name, "ancestor") &&
	    strcmp(name, "cgroup") && strcmp(name, "profiles")) {
		snprintf(err, errlen, "unknown matcher '%s:'", name);
		return -EINVAL;
	}
	if (!*v) {
		snprintf(err, errlen, "matcher '%s:' has no value", name);
		return -EINVAL;
	}
	if (!strcmp(name, "profiles")) {
		if (!r->allow) {
			snprintf(err, errlen,
				 "profiles: only makes sense in an allow rule");
			return -EINVAL;
		}
		return parse_profiles(r, v, err, errlen);
	}
	if (!strcmp(name, "uid")) {
		m.kind = M_UID;
		if (lookup_uid(v, &m.uid) < 0) {
			snprintf(err, errlen, "uid '%s' is not a user", v);
			return -EINVAL;
		}
	} else if (!strcmp(name, "gid")) {
		m.kind = M_GID;
		if (lookup_gid(v, &m.gid) < 0) {
			snprintf(err, errlen, "gid '%s' is not a group", v);
			return -EINVAL;
		}
	} else if (!strcmp(name, "exe_sha256")) {
		m.kind = M_SHA256;
		if (!parse_sha(v, m.sha)) {
			snprintf(err, errlen,
				 "exe_sha256: expects 64 hex digits, got %zu "
				 "characters",
				 strlen(v));
			return -EINVAL;
		}
	} else {
		m.kind = !strcmp(name, "exe")	     ? M_EXE
			 : !strcmp(name, "ancestor") ? M_ANCESTOR
						     : M_CGROUP;
		if (!glob_ok(v)) {
			snprintf(err, errlen,
				 "%s: '%s' must be an absolute path or glob "
				 "(start with '/' or a wildcard)",
				 name, v);
			return -EINVAL;
		}
		m.glob = strdup(v);
		if (!m.glob)
			return -ENOMEM;
		m.fnm_flags = strstr(v, "**") ? 0 : FNM_PATHNAME;
	}
	arr = realloc(r->m, (r->nm + 1) * sizeof(*r->m));
	if (!arr) {
		free(m.glob);
		return -ENOMEM;
	}
	r->m = arr;
	r->m[r->nm++] = m;
	return 0;
}

static int matcher_cmp(const void *a, const void *b)
{
	const struct matcher *x = a, *y = b;

	return (int)x->kind - (int)y->kind;
}

int policy_add_rule(struct policy *p, bool allow, const char *spec, int line,
		    char *err, size_t errlen)
{
	struct rule r = {.allow = allow, .line = line};
	struct rule *arr;
	char *copy = NULL, *tok, *save = NULL;
	size_t textlen, i;
	int ret;
	char dummy[1];

	if (!err || !errlen) {
		err = dummy;
		errlen = sizeof(dummy);
	}
	err[0] = '\0';
	copy = strdup(spec ? spec : "");
	textlen = strlen(allow ? "allow" : "deny") + 1;
	r.text = malloc(textlen + strlen(spec ? spec : "") + 1);
	if (!copy || !r.text) {
		ret = -ENOMEM;
		goto out;
	}
	strcpy(r.text, allow ? "allow" : "deny");
	for (tok = strtok_r(copy, " \t\r\n", &save); tok;
	     tok = strtok_r(NULL, " \t\r\n", &save)) {
		strcat(r.text, " ");
		strcat(r.text, tok);
		if ((ret = parse_token(&r, tok, err, errlen)) < 0)
			goto out;
	}
	if (!r.nm) {
		snprintf(err, errlen,
			 r.nprofiles ? "rule has no matcher (only profiles:)"
				     : "empty rule");
		ret = -EINVAL;
		goto out;
	}
	/* Stable enough: equal kinds keep their relative cost. */
	qsort(r.m, r.nm, sizeof(*r.m), matcher_cmp);
	arr = realloc(p->rules, (p->nrules + 1) * sizeof(*p->rules));
	if (!arr) {
		ret = -ENOMEM;
		goto out;
	}
	p->rules = arr;
	for (i = 0; i < r.nm; i++) {
		if (r.m[i].kind == M_ANCESTOR)
			p->needs |= CALLER_NEED_ANCESTORS;
		else if (r.m[i].kind == M_CGROUP)
			p->needs |= CALLER_NEED_CGROUP;
		else if (r.m[i].kind == M_GID)
			p->needs |= CALLER_NEED_STATUS;
	}
	p->rules[p->nrules++] = r;
	memset(&r, 0, sizeof(r)); /* transferred */
	ret = 0;
out:
	if (ret == -ENOMEM && !err[0])
		snprintf(err, errlen, "out of memory");
	rule_clear(&r);
	free(copy);
	return ret;
}

static bool glob_match(const struct matcher *m, const char *s)
{
	return fnmatch(m->glob, s, m->fnm_flags) == 0;
}

/* 1 match, 0 no match, <0 the caller could not be completed. */
static int matcher_holds(const struct matcher *m, bool allow, struct caller *c)
{
	size_t i;
	int r;

	switch (m->kind) {
	case M_UID:
		return c->uid == m->uid;
	case M_GID:
		/* Groups beyond what was read: unknown, so an allow does
		 * not hold and a deny does. */
		if (!caller_in_group(c, m->gid))
			return c->groups_truncated && !allow;
		return 1;
	case M_EXE:
		if (c->exe_deleted && allow)
			return 0;
		return glob_match(m, c->exe);
	case M_CGROUP:
		if ((r = caller_complete(c, CALLER_NEED_CGROUP)) < 0)
			return r;
		return glob_match(m, c->cgroup);
	case M_ANCESTOR:
		if ((r = caller_complete(c, CALLER_NEED_ANCESTORS)) < 0)
			return r;
		for (i = 0; i < c->nancestors; i++) {
			if (allow && (c->ancestors_deleted & (1u << i)))
				continue;
			if (glob_match(m, c->ancestors[i]))
				return 1;
		}
		return 0;
	case M_SHA256:
		if ((r = caller_complete(c, CALLER_NEED_SHA256)) < 0)
			return r;
		return !memcmp(c->exe_sha256, m->sha, 32);
	}
	return 0;
}

static void set_rule(struct policy_decision *d, const char *text)
{
	snprintf(d->rule, sizeof(d->rule), "%s", text);
}

void policy_decide(const struct policy *p, struct caller *c,
		   struct policy_decision *d)
{
	size_t i, j;
	int r;

	d->allow = false;
	d->line = 0;
	d->rule[0] = '\0';
	d->profiles = NULL;
	d->nprofiles = 0;

	/* A caller whose identification failed still carries tid/uid/gid
	 * (for the audit line) but nothing a rule may trust. */
	if (!c || c->pid <= 0 || !c->exe[0]) {
		set_rule(d, "unidentified caller");
		return;
	}
	if (p->deny_traced && c->tracer) {
		set_rule(d, "deny_traced");
		return;
	}
	if (!p->nrules) {
		d->allow = c->uid == p->owner;
		set_rule(d, "default: owner uid");
		return;
	}
	for (i = 0; i < p->nrules; i++) {
		const struct rule *rule = &p->rules[i];

		for (j = 0; j < rule->nm; j++) {
			r = matcher_holds(&rule->m[j], rule->allow, c);
			if (r < 0) {
				/* Fail closed: a rule we cannot evaluate
				 * might have been a deny. */
				set_rule(d, "unidentified caller");
				return;
			}
			if (!r)
				break;
		}
		if (j < rule->nm)
			continue;
		d->allow = rule->allow;
		d->line = rule->line;
		set_rule(d, rule->text);
		if (rule->allow && rule->profiles) {
			d->profiles = rule->profiles;
			d->nprofiles = rule->nprofiles;
		}
		return;
	}
	set_rule(d, "default: no rule matched");
}

bool policy_admits_profile(const struct policy_decision *d, const char *label)
{
	size_t i;

	if (!d->allow)
		return false;
	if (!d->profiles)
		return true;
	for (i = 0; i < d->nprofiles; i++)
		if (!strcmp(d->profiles[i], label))
			return true;
	return false;
}

int policy_check_profiles(const struct policy *p, const char *const *labels,
			  size_t nlabels, int *line, char *err, size_t errlen)
{
	size_t i, j, k;

	for (i = 0; i < p->nrules; i++) {
		const struct rule *r = &p->rules[i];

		for (j = 0; j < r->nprofiles; j++) {
			for (k = 0; k < nlabels; k++)
				if (!strcmp(labels[k], r->profiles[j]))
					break;
			if (k == nlabels) {
				if (line)
					*line = r->line;
				snprintf(err, errlen,
					 "profiles: '%s' is not shown by this "
					 "file",
					 r->profiles[j]);
				return -EINVAL;
			}
		}
	}
	return 0;
}
