/* exec_policy: `credfs exec` as a policy decision (see exec_policy.h). */
#include "access/exec_policy.h"
#include "access/audit.h"
#include "access/caller.h"
#include "core/config.h"
#include "core/cred.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static void refuse(struct policy_decision *d, const char *rule)
{
	d->allow = false;
	d->line = 0;
	d->profiles = NULL;
	d->nprofiles = 0;
	snprintf(d->rule, sizeof(d->rule), "%s", rule);
}

int exec_authorize(const struct exec_ask *q, struct audit *a, struct caller *c,
		   struct policy_decision *d, char *why, size_t len)
{
	const struct profile_cfg *p = &q->cfg->profiles[q->idx];
	const struct rules *rules = p->exec_policy;
	char buf[256];
	const char *no;
	bool known;

	/* The audit line wants cmdline and cgroup; the rules what they
	 * look at, read now (never from the identity cache). */
	known = caller_identify_need(q->pid, q->uid, q->gid,
				     policy_needs(rules) | CALLER_NEED_CMDLINE |
					 CALLER_NEED_CGROUP,
				     c) == 0;
	policy_decide(rules, known ? c : NULL, d);
	if (q->locked) {
		refuse(d, "locked");
		snprintf(why, len,
			 "credfs is locked: no credential is handed out "
			 "until `credfs unlock`");
	} else if (d->allow && (no = config_exec_refused(q->cfg, q->idx, buf,
							 sizeof(buf)))) {
		refuse(d, "not exportable");
		snprintf(why, len, "%s", no);
	} else if (!d->allow) {
		snprintf(why, len,
			 "denied by the exec rules of profile %s (%s%s%.0d)",
			 p->name, d->rule, d->line ? ", line " : "", d->line);
	} else {
		return 0;
	}
	struct audit_exec x = {.profile = p->name,
			       .command = q->command,
			       .via_daemon = q->via_daemon};
	if (audit_exec_event(a, &x, c, d) < 0 && a && q->cfg->audit_required)
		return -EIO;
	return -EACCES;
}

int exec_audit_allow(const struct exec_ask *q, struct audit *a,
		     const struct caller *c, const struct policy_decision *d,
		     const struct cred *cr)
{
	char kid[96];
	struct audit_exec x = {.profile = q->cfg->profiles[q->idx].name,
			       .command = q->command,
			       .via_daemon = q->via_daemon,
			       .key_id = kid,
			       .expires = cred_expiration(cr)};

	cred_key_id(cr, kid, sizeof(kid));
	return audit_exec_event(a, &x, c, d);
}
