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
 * denied binary after starting it does not escape the deny.  The same holds
 * for an executable whose path, in the daemon's mount namespace, is not
 * the file that runs (exe_mismatch: a private namespace's bind mount).
 *
 * policy_decide reads nothing: whoever calls it fills policy_needs() first
 * (caller_identify_cached / caller_complete); a part a rule reaches that
 * is missing denies as "unidentified caller".  One exception remains until
 * core/rules.c names CALLER_NEED_SHA256 in rules_needs(): an exe_sha256:
 * rule reached without the hash hashes here, for callers that fill only
 * rules_needs() (fs/vfs.c today).
 */
#include "access/policy.h"
#include "access/caller.h"

#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <string.h>

static bool glob_match(const struct matcher *m, const char *s)
{
	return fnmatch(m->glob, s, m->fnm_flags) == 0;
}

/* 1 match, 0 no match, -ENODATA: the part of the identity the matcher
 * looks at was not read (the caller did not fill rules_needs()), or the
 * executable is out of the daemon's sight. */
static int matcher_holds(const struct matcher *m, bool allow, struct caller *c,
			 bool lazy_hash)
{
	size_t i;

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
		if (!c->exe[0])
			return -ENODATA;
		/* A deleted or substituted executable is not the file the
		 * path names for an allow; a deny still sees the path. */
		if ((c->exe_deleted || c->exe_mismatch) && allow)
			return 0;
		return glob_match(m, c->exe);
	case M_CGROUP:
		if (!(c->have & CALLER_NEED_CGROUP))
			return -ENODATA;
		return glob_match(m, c->cgroup);
	case M_ANCESTOR:
		if (!(c->have & CALLER_NEED_ANCESTORS))
			return -ENODATA;
		for (i = 0; i < c->nancestors; i++) {
			if (allow &&
			    ((c->ancestors_deleted | c->ancestors_mismatch) &
			     (1u << i)))
				continue;
			if (glob_match(m, c->ancestors[i]))
				return 1;
		}
		return 0;
	case M_SHA256:
		/* TRANSITIONAL: see policy_needs(). */
		if (!c->have_sha256 && lazy_hash && caller_exe_sha256(c) < 0)
			return -ENODATA;
		if (!c->have_sha256)
			return -ENODATA;
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
	/* Only for callers that fill rules_needs(), which does not name the
	 * hash yet: remove with it. */
	bool lazy_hash = !(rules_needs(p) & CALLER_NEED_SHA256);
	size_t i, j;
	int r;

	d->allow = false;
	d->line = 0;
	d->rule[0] = '\0';
	d->profiles = NULL;
	d->nprofiles = 0;

	/* A caller whose identification failed still carries tid/uid/gid
	 * (for the audit line) but nothing a rule may trust.  An empty exe
	 * is no failure: rules on uid, gid and cgroup decide without it. */
	if (!c || c->pid <= 0) {
		set_rule(d, "unidentified caller");
		return;
	}
	if (p->deny_traced && c->tracer) {
		set_rule(d, "deny_traced");
		return;
	}
	if (p->deny_preload) {
		/* An environment the daemon may not read might hold one. */
		if (!(c->have & CALLER_NEED_ENVIRON)) {
			set_rule(d, "deny_preload: environment unreadable");
			return;
		}
		if (c->preload[0]) {
			snprintf(d->rule, sizeof(d->rule), "deny_preload: %s",
				 c->preload);
			return;
		}
	}
	if (!p->nrules) {
		d->allow = c->uid == p->owner;
		set_rule(d, "default: owner uid");
		return;
	}
	for (i = 0; i < p->nrules; i++) {
		const struct rule *rule = &p->rules[i];

		for (j = 0; j < rule->nm; j++) {
			r = matcher_holds(&rule->m[j], rule->allow, c,
					  lazy_hash);
			if (r < 0) {
				/* Fail closed: a rule we cannot evaluate
				 * might have been a deny (or an allow of
				 * fewer profiles). */
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

unsigned policy_needs(const struct rules *p)
{
	unsigned need = rules_needs(p);
	size_t i, j;

	for (i = 0; p && i < p->nrules; i++)
		for (j = 0; j < p->rules[i].nm; j++)
			if (p->rules[i].m[j].kind == M_SHA256)
				need |= CALLER_NEED_SHA256;
	return need;
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
