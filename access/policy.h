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

/* c may be NULL: an unidentifiable caller, always denied.  A part of the
 * identity a rule reaches and that is still missing is read here
 * (caller_complete); if it cannot be, the caller is denied. */
void policy_decide(const struct rules *p, struct caller *c,
		   struct policy_decision *d);
bool policy_admits_profile(const struct policy_decision *d, const char *label);

#endif
