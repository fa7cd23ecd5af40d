/* policy: decides whether a calling process may open a file.
 *
 * The rules (core/rules.h) are tried in order; the first whose matchers
 * all hold decides.  With no rules only the owner uid is admitted.
 */
#ifndef CREDFS_POLICY_H
#define CREDFS_POLICY_H

#include "core/rules.h"

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct caller;

struct policy_decision {
	bool allow;
	int line;	 /* config line of the deciding rule, 0 = default */
	char rule[256];	 /* "allow uid:1000 exe:/usr/bin/aws", "default: owner
			    uid", "traced", "unidentified", "locked" */
	char **profiles; /* per-caller view: labels admitted, NULL = all;
			    points into the rules, do not free */
	size_t nprofiles;
};

/* The CALLER_NEED_* parts policy_decide looks at: rules_needs(p) and the
 * executable's hash when an exe_sha256: rule exists.  Fill them before
 * deciding: caller_identify_cached(tid, uid, gid, need | policy_needs(p),
 * policy_needs(p), c) or caller_complete(c, policy_needs(p)). */
unsigned policy_needs(const struct rules *p);

/* c may be NULL: an unidentifiable caller, always denied.  Reads no
 * /proc (but see policy.c on exe_sha256: while rules_needs() does not name
 * the hash): the parts policy_needs(p) names must be in c already; a rule
 * that reaches a missing part (or an executable the daemon may not see)
 * denies as "unidentified caller". */
void policy_decide(const struct rules *p, struct caller *c,
		   struct policy_decision *d);
bool policy_admits_profile(const struct policy_decision *d, const char *label);

#endif
