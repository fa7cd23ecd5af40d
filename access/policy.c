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
#include "access/policy.h"
#include "access/caller.h"

#include <fnmatch.h>
#include <stdio.h>
#include <string.h>

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

void policy_decide(const struct rules *p, struct caller *c,
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

