/* engine status: each profile's state as `credfs status` shows it. */
#include "core/config.h"
#include "core/cred.h"
#include "core/provider.h"
#include "core/util.h"
#include "engine/engine.h"
#include "engine/engine_int.h"

#include <cjson/cJSON.h>
#include <time.h>

static const char *state_name(const struct engine *e, struct pstate *p,
			      time_t now)
{
	bool valid = engine_cred_valid(p->cur, now);
	if (p->refreshing)
		return "refreshing";
	if (valid && !engine_cred_due(e, p->cur, now))
		return "fresh";
	if (valid)
		return "stale";
	if (p->last.code)
		return "failed";
	if (p->ever_had)
		return "expired";
	return "empty";
}

cJSON *engine_status(struct engine *e)
{
	cJSON *arr = cJSON_CreateArray();
	time_t now = time(NULL);
	char t[32];

	for (size_t i = 0; i < e->n; i++) {
		struct pstate *p = &e->p[i];
		cJSON *o = cJSON_CreateObject();
		pthread_mutex_lock(&p->mu);
		engine_load_cache_locked(e, (int)i);
		cJSON_AddStringToObject(o, "profile", e->cfg->profiles[i].name);
		cJSON_AddStringToObject(o, "provider",
					e->cfg->profiles[i].ops->name);
		cJSON_AddStringToObject(o, "state", state_name(e, p, now));
		if (engine_cred_valid(p->cur, now) && cred_expiration(p->cur)) {
			util_time_format(cred_expiration(p->cur), t, sizeof(t));
			cJSON_AddStringToObject(o, "expires", t);
		} else {
			cJSON_AddNullToObject(o, "expires");
			/* for `credfs status`: "expired 3m ago" */
			if (p->cur && cred_expiration(p->cur)) {
				util_time_format(cred_expiration(p->cur), t,
						 sizeof(t));
				cJSON_AddStringToObject(o, "expired", t);
			}
		}
		if (p->last_refresh) {
			util_time_format(p->last_refresh, t, sizeof(t));
			cJSON_AddStringToObject(o, "last_refresh", t);
		} else {
			cJSON_AddNullToObject(o, "last_refresh");
		}
		if (p->last.code)
			cJSON_AddStringToObject(o, "last_error", p->last.msg);
		else
			cJSON_AddNullToObject(o, "last_error");
		if (p->integrity[0])
			cJSON_AddStringToObject(o, "integrity", p->integrity);
		if (engine_cred_valid(p->cur, now)) {
			char kid[96];
			cred_key_id(p->cur, kid, sizeof(kid));
			cJSON_AddStringToObject(o, "key_id", kid);
		}
		cJSON_AddNumberToObject(o, "fetches", (double)p->fetches);
		pthread_mutex_unlock(&p->mu);
		cJSON_AddItemToArray(arr, o);
	}
	return arr;
}
