/* policy: per-file allow/deny rules over the calling process.
 *
 * Rules are tried in order; the first whose matchers all hold decides.
 * With no rules only the owner uid is admitted.
 */
#ifndef CREDFS_POLICY_H
#define CREDFS_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct caller;
struct policy;

struct policy *policy_new(uid_t owner) __attribute__((warn_unused_result));
void policy_free(struct policy *p);
/* Parses one `allow =` / `deny =` value: matchers uid: gid: exe: exe_sha256:
 * ancestor: cgroup: profiles:.  -EINVAL with a reason in err. */
int policy_add_rule(struct policy *p, bool allow, const char *spec, int line,
		    char *err, size_t errlen);
void policy_set_deny_traced(struct policy *p, bool on);
size_t policy_rule_count(const struct policy *p);

struct policy_decision {
	bool allow;
	int line;	 /* config line of the deciding rule, 0 = default */
	char rule[256];	 /* "allow uid:1000 exe:/usr/bin/aws", "default: owner
			    uid", "traced", "unidentified", "locked" */
	char **profiles; /* per-caller view: labels admitted, NULL = all;
			    points into the policy, do not free */
	size_t nprofiles;
};

/* c may be NULL: an unidentifiable caller, always denied. */
void policy_decide(const struct policy *p, struct caller *c,
		   struct policy_decision *d);
bool policy_admits_profile(const struct policy_decision *d, const char *label);

/* Added by the policy module. */
/* CALLER_NEED_* parts some rule may look at: pass them (| CMDLINE | CGROUP
 * for the audit line) to caller_identify_need().  policy_decide() fills a
 * part still missing itself, when a rule reaches a matcher that needs it,
 * and denies ("unidentified caller") if it cannot. */
unsigned policy_needs(const struct policy *p);
/* For config checks: -EINVAL naming the first profiles: label of a rule
 * that is not among labels (the file's), with that rule's line. */
int policy_check_profiles(const struct policy *p, const char *const *labels,
			  size_t nlabels, int *line, char *err, size_t errlen);

#endif
