/* context: config, key, store, audit and engine opened in one place, with
 * one audit-failure policy (see context.h). */
#include "engine/context.h"
#include "access/audit.h"
#include "core/config.h"
#include "core/error.h"
#include "crypto/key.h"
#include "crypto/store.h"
#include "engine/engine.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Store events go to the audit log of the context that opened it. */
static void store_event(const char *event, const char *name, void *arg)
{
	if (!strcmp(event, "integrity"))
		fprintf(stderr,
			"credfs: integrity: %s failed its check and was set "
			"aside\n",
			name);
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "name", name);
	audit_event(arg, event, o);
}

static enum audit_sync sync_mode(const struct config *cfg, unsigned parts)
{
	if (!(parts & CONTEXT_AUDIT_CONFIG_SYNC) || !cfg->audit_sync)
		return AUDIT_SYNC_ALWAYS;
	if (!strcmp(cfg->audit_sync, "always"))
		return AUDIT_SYNC_ALWAYS;
	if (!strcmp(cfg->audit_sync, "none"))
		return AUDIT_SYNC_NONE;
	return AUDIT_SYNC_BATCH;
}

/* Once per process: a warning nobody asked to be repeated per line. */
static atomic_bool warned;

static void warn_once(const struct error *e)
{
	if (atomic_exchange(&warned, true))
		return;
	fprintf(stderr,
		"credfs: warning: %s; continuing without an audit line "
		"(audit_required = no)\n",
		e->msg);
}

/* The store's rollback anchor lives in the audit chain; a line that cannot
 * be written follows the one audit-failure policy (audit_required). */
static unsigned long long anchor_get(void *arg)
{
	struct context *c = arg;

	return audit_manifest_gen(c->audit);
}

static int anchor_put(void *arg, unsigned long long gen)
{
	struct context *c = arg;

	return context_audit_failed(c, audit_manifest_put(c->audit, gen),
				    NULL);
}

static int open_audit(struct context *c, struct error *e)
{
	struct error ae = {0};
	int r;

	r = audit_open(c->cfg->audit_log, sync_mode(c->cfg, c->parts),
		       &c->audit, &ae);
	if (r == 0) {
		struct audit_opts o = {.max_size = c->cfg->audit_max_size,
				       .max_age = c->cfg->audit_max_age,
				       .keep = c->cfg->audit_keep,
				       .required = c->cfg->audit_required};

		struct store_anchor an = {.get = anchor_get,
					  .put = anchor_put,
					  .arg = c};

		audit_set_opts(c->audit, &o);
		store_set_event_hook(store_event, c->audit);
		store_set_anchor(&an);
		return 0;
	}
	c->audit = NULL;
	if (c->cfg->audit_required) {
		if (e)
			*e = ae;
		return r;
	}
	warn_once(&ae);
	return 0;
}

int context_add(struct context *c, unsigned parts, struct error *e)
{
	int r;

	if (parts & (CONTEXT_STORE | CONTEXT_ENGINE))
		parts |= CONTEXT_KEY;
	if (parts & CONTEXT_ENGINE)
		parts |= CONTEXT_STORE;
	c->parts |= parts & (CONTEXT_INTERACTIVE | CONTEXT_AUDIT_CONFIG_SYNC);
	if ((parts & CONTEXT_KEY) && !c->key) {
		r = key_load(c->cfg, (c->parts & CONTEXT_INTERACTIVE) != 0,
			     &c->key, e);
		if (r < 0) {
			error_prefix(e, "key");
			return r;
		}
		c->parts |= CONTEXT_KEY;
	}
	if ((parts & CONTEXT_AUDIT) && !(c->parts & CONTEXT_AUDIT)) {
		c->parts |= CONTEXT_AUDIT;
		if ((r = open_audit(c, e)) < 0) {
			c->parts &= ~(unsigned)CONTEXT_AUDIT;
			return r;
		}
	}
	if ((parts & CONTEXT_STORE) && !c->store) {
		r = store_open(c->cfg->state_dir, c->key, &c->store, e);
		if (r < 0) {
			error_prefix(e, "store");
			return r;
		}
		c->parts |= CONTEXT_STORE;
	}
	if ((parts & CONTEXT_ENGINE) && !c->engine) {
		if ((r = engine_new(c->cfg, c->store, c->audit, &c->engine)) <
		    0)
			return error_set(e, r, "engine: %s", strerror(-r));
		c->parts |= CONTEXT_ENGINE;
	}
	return 0;
}

int context_open(const struct config *cfg, unsigned parts, struct context **out,
		 struct error *e)
{
	struct context *c = calloc(1, sizeof(*c));
	int r;

	*out = NULL;
	if (!c)
		return error_set(e, ENOMEM, "out of memory");
	c->cfg = cfg;
	if ((r = context_add(c, parts, e)) < 0) {
		context_free(c);
		return r;
	}
	*out = c;
	return 0;
}

void context_free(struct context *c)
{
	if (!c)
		return;
	engine_free(c->engine);
	if (c->audit) {
		store_set_event_hook(NULL, NULL);
		store_set_anchor(NULL);
	}
	audit_close(c->audit);
	store_free(c->store);
	key_free(c->key);
	free(c);
}

int context_audit_failed(struct context *c, int r, struct error *e)
{
	struct error ae = {0};

	if (r >= 0)
		return 0;
	error_set(&ae, r, "audit log %s: the line could not be written",
		  c && c->cfg ? c->cfg->audit_log : "?");
	if (c && c->cfg && !c->cfg->audit_required) {
		warn_once(&ae);
		return 0;
	}
	if (e)
		*e = ae;
	return r;
}

int context_audit(struct context *c, const char *event, cJSON *fields,
		  struct error *e)
{
	int r;

	if (!c || !c->audit) {
		cJSON_Delete(fields);
		/* no log: either not asked for, or already warned about */
		if (c && (c->parts & CONTEXT_AUDIT) && c->cfg->audit_required)
			return error_set(e, EIO, "audit log %s: not open",
					 c->cfg->audit_log);
		return 0;
	}
	r = audit_event(c->audit, event, fields);
	return context_audit_failed(c, r < 0 ? r : 0, e);
}
