/* lease: renew, re-issue, revoke the replaced lease (engine/lease.h). */
#include "engine/lease.h"
#include "access/audit.h"
#include "core/config.h"
#include "core/cred.h"
#include "core/error.h"
#include "core/provider.h"
#include "core/util.h"
#include "engine/engine.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

void lease_audit(struct audit *a, const char *profile, const char *event,
		 const struct cred *c, const char *why, const char *err)
{
	char kid[96], exp[32];

	if (!a)
		return;
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "profile", profile);
	cred_key_id(c, kid, sizeof(kid));
	cJSON_AddStringToObject(o, "key_id", kid);
	/* a lease id names the lease; only a token may act on it */
	if (cred_get(c, "lease_id"))
		cJSON_AddStringToObject(o, "lease_id", cred_get(c, "lease_id"));
	if (!strcmp(event, "lease_renew") && !err) {
		util_time_format(cred_expiration(c), exp, sizeof(exp));
		cJSON_AddStringToObject(o, "expires", exp);
	}
	cJSON_AddStringToObject(o, "reason", why);
	if (err)
		cJSON_AddStringToObject(o, "error", err);
	audit_event(a, event, o);
}

int lease_refresh(const struct provider_ops *ops,
		  const struct provider_req *req, struct audit *a,
		  const struct cred *held, bool last, struct cred **out,
		  int *rr, struct error *e)
{
	*rr = 2;
	*out = NULL;
	if (held && !last) {
		struct error re = {0};
		*rr = ops->renew(req, held, out, &re);
		if (*rr == 0 || *rr == 1) {
			lease_audit(a, req->profile_name, "lease_renew", *out,
				    *rr == 1 ? "last renewal: max TTL" : "due",
				    NULL);
			return 0;
		}
		if (*rr < 0) /* gone or refused: a new lease instead */
			lease_audit(a, req->profile_name, "lease_renew", held,
				    "due", re.msg);
		*out = NULL;
	}
	return ops->fetch(req, out, e);
}

void lease_replaced(const struct provider_ops *ops,
		    const struct provider_req *req, struct audit *a,
		    const struct cred *held)
{
	struct error e = {0};
	int r;

	if (!held || !ops->revoke || !cred_get(held, "lease_id"))
		return;
	r = ops->revoke(req, held, &e);
	lease_audit(a, req->profile_name, "lease_revoke", held, "reissued",
		    r < 0 ? e.msg : NULL);
}

int engine_unmount(struct engine *e, const struct config *cfg)
{
	int rc = 0;

	for (size_t i = 0; i < cfg->nprofiles; i++) {
		const struct profile_cfg *pc = &cfg->profiles[i];
		struct error err = {0};
		if (!pc->ops->revoke_at_unmount ||
		    !pc->ops->revoke_at_unmount(pc->state))
			continue;
		if (engine_revoke_e(e, (int)i, &err) < 0) {
			fprintf(stderr, "credfs: unmount: %s\n", err.msg);
			rc = -EIO;
		}
	}
	return rc;
}
