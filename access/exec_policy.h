/* exec_policy: whether a process may have a profile's credential in its
 * environment (`credfs exec`), decided like an open of a file.
 *
 * The asking process is identified as an open's caller is (pinned, exe by
 * device and inode, ancestors, cgroup), and the profile's exec_allow /
 * exec_deny rules decide (none: the owner uid only); the lock refuses it;
 * a source root or long-lived key (config_exec_refused) is refused unless
 * the profile says `exportable = yes`.  A refusal is audited here.
 */
#ifndef CREDFS_EXEC_POLICY_H
#define CREDFS_EXEC_POLICY_H

#include "access/policy.h"

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct audit;
struct caller;
struct config;
struct cred;

struct exec_ask {
	const struct config *cfg;
	int idx;   /* the profile */
	pid_t pid; /* the asking process: socket peer, or ourselves */
	uid_t uid; /* its uid and gid (SO_PEERCRED, or ours) */
	gid_t gid;
	bool locked;	     /* the daemon is locked */
	bool via_daemon;     /* for the audit line */
	const char *command; /* the asker's word, for the audit line */
};

/* 0: allowed, c identified and d filled for exec_audit_allow.  -EACCES:
 * refused, the deny line written, why says so (for the asker).  -EIO:
 * with audit_required, the deny line could not be written (still
 * refused). */
int exec_authorize(const struct exec_ask *q, struct audit *a, struct caller *c,
		   struct policy_decision *d, char *why, size_t len)
    __attribute__((warn_unused_result));
/* The allow line, before the credential leaves: <0 when it could not be
 * written (with audit_required nothing may be handed out then). */
int exec_audit_allow(const struct exec_ask *q, struct audit *a,
		     const struct caller *c, const struct policy_decision *d,
		     const struct cred *cr);

#endif
