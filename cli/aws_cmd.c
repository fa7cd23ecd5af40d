/* aws_cmd: `credfs rotate` and `credfs revoke --deactivate-source`.
 *
 * Both run in the command's own process: they unlock the store, talk to
 * IAM (providers/aws/iam.c), write the store and the audit log (which takes
 * writers from several processes), then tell a running daemon, if any.
 * Only access key ids ever reach the terminal or the log.
 */
#include "cli/aws_cmd.h"
#include "access/audit.h"
#include "core/config.h"
#include "core/cred.h"
#include "daemon/ctl.h"
#include "cli/cli.h"
#include "cli/oidc_cmd.h"
#include "core/error.h"
#include "engine/context.h"
#include "crypto/key.h"
#include "crypto/store.h"
#include "core/provider.h"
#include "providers/aws/iam.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define KEY_ID_LEN 128

/* What both commands open: key, store and audit log, in a context (a
 * change to a live key that leaves no trace is what audit_required
 * forbids).  what: "rotate base" (error prefix).  0 or the exit status. */
static int state_open(const struct config *cfg, const char *what,
		      struct context **ctx)
{
	struct error e = {0};

	if (context_open(cfg,
			 CONTEXT_STORE | CONTEXT_AUDIT |
			     (isatty(0) ? CONTEXT_INTERACTIVE : 0),
			 ctx, &e) < 0) {
		error_prefix(&e, "%s", what);
		return cli_fail(&e) == 2 ? 2 : 1;
	}
	return 0;
}

static void add_str(cJSON *o, const char *k, const char *v)
{
	if (o && v)
		cJSON_AddStringToObject(o, k, v);
}

static const char *region_of(const struct cfg_section *sec)
{
	const char *r = cfg_get(sec, "region");

	return r && *r ? r : "us-east-1";
}

/* Reads the store entry `name` and copies its access key id. */
static int load_key(struct context *st, const char *what, const char *name,
		    struct cred **out, char *key_id, size_t len)
{
	struct error e = {0};
	const char *id;
	int r;

	if ((r = store_get(st->store, name, out, &e)) < 0) {
		fprintf(stderr, "credfs: %s: store entry %s: %s\n", what, name,
			e.code ? e.msg : strerror(-r));
		return r;
	}
	id = cred_get(*out, "access_key_id");
	if (!id || !*id || strlen(id) >= len) {
		fprintf(stderr,
			"credfs: %s: store entry %s has no usable "
			"access_key_id\n",
			what, name);
		cred_unref(*out);
		*out = NULL;
		return -EINVAL;
	}
	snprintf(key_id, len, "%s", id);
	return 0;
}

/* Asks a running daemon to refresh profile.  0 refreshed, 1 there is no
 * daemon, -1 it failed (e says why). */
static int daemon_refresh(const struct config *cfg, const char *profile,
			  struct error *e)
{
	cJSON *req = cli_request("refresh"), *rep;

	cJSON_AddStringToObject(req, "profile", profile);
	rep = cli_call(cfg, req, 65000, e);
	if (!rep)
		return e->kind == ERROR_NO_DAEMON ? 1 : -1;
	cJSON_Delete(rep);
	return 0;
}

/* The fields of the old entry besides the key pair (a note, a region)
 * carry over to the new one. */
static int carry_fields(struct cred *nc, const struct cred *old)
{
	int r;

	for (size_t i = 0; i < cred_count(old); i++) {
		const char *f = cred_name_at(old, i);

		if (!strcmp(f, "access_key_id") ||
		    !strcmp(f, "secret_access_key") ||
		    !strcmp(f, "session_token"))
			continue;
		if ((r = cred_set(nc, f, cred_value_at(old, i))) < 0)
			return r;
	}
	return 0;
}

/* Lists the profiles whose source chain reaches root (for the note). */
static void dependents(const struct config *cfg, int root, char *buf,
		       size_t len)
{
	size_t o = 0;

	buf[0] = 0;
	for (size_t i = 0; i < cfg->nprofiles; i++) {
		int j = cfg->profiles[i].source;
		size_t steps = 0;

		while (j >= 0 && j != root && steps++ < cfg->nprofiles)
			j = cfg->profiles[j].source;
		if (j != root || (int)i == root || o + 2 >= len)
			continue;
		o += (size_t)snprintf(buf + o, len - o, "%s%s", o ? " " : "",
				      cfg->profiles[i].name);
		if (o >= len)
			o = len - 1;
	}
}

static void audit_rotate(struct context *st, const char *profile,
			 const char *entry, const char *old_id,
			 const char *new_id, const char *result,
			 const char *error)
{
	struct error e = {0};
	cJSON *o = cJSON_CreateObject();

	add_str(o, "profile", profile);
	add_str(o, "entry", entry);
	add_str(o, "old_key_id", old_id);
	add_str(o, "new_key_id", new_id);
	add_str(o, "result", result);
	add_str(o, "error", error);
	if (context_audit(st, "rotate", o, &e) < 0) {
		error_prefix(&e, "rotate %s", profile);
		cli_fail(&e);
	}
}

int cmd_rotate(struct cli *cli, int argc, char **argv)
{
	struct context *st = NULL;
	struct cred *old = NULL, *nc = NULL;
	struct error e = {0}, de = {0};
	struct error se = {0};
	char what[200], old_id[KEY_ID_LEN], new_id[KEY_ID_LEN] = "";
	char err[600] = "", deps[512];
	const struct profile_cfg *pc;
	const char *profile, *entry, *endpoint, *region;
	struct config *cfg = cli->cfg;
	int idx, r, rc = 1;

	if (argc != 2) {
		fprintf(stderr, "usage: credfs rotate PROFILE\n");
		return 2;
	}
	profile = argv[1];
	snprintf(what, sizeof(what), "rotate %s", profile);
	if ((idx = config_find_profile(cfg, profile)) < 0) {
		fprintf(stderr, "credfs: %s: no such profile in %s\n", what,
			cfg->path);
		return 2;
	}
	pc = &cfg->profiles[idx];
	if (!strcmp(pc->ops->name, "oidc-issuer"))
		return oidc_rotate(cli, pc);
	if (strcmp(pc->ops->name, "aws-static") != 0) {
		fprintf(stderr,
			"credfs: %s: provider is %s; only an aws-static "
			"or oidc-issuer profile holds a key to rotate\n",
			what, pc->ops->name);
		return 2;
	}
	entry = cfg_get(pc->sec, "secret");
	if (!entry || !*entry) {
		fprintf(stderr,
			"credfs: %s: the key is not in the sealed store "
			"(secret_file); rotate needs `secret = NAME`\n",
			what);
		return 2;
	}
	endpoint = cfg_get(pc->sec, "endpoint");
	region = region_of(pc->sec);

	if ((rc = state_open(cfg, what, &st)) != 0)
		return rc;
	rc = 1;
	if (load_key(st, what, entry, &old, old_id, sizeof(old_id)) < 0)
		goto out;

	if ((r = iam_rotate_key(pc->sec, endpoint, region, old, &nc, &e)) < 0) {
		fprintf(stderr, "credfs: %s: %s\n", what, e.msg);
		audit_rotate(st, profile, entry, old_id, NULL, "failed", e.msg);
		goto out;
	}
	snprintf(new_id, sizeof(new_id), "%s", cred_get(nc, "access_key_id"));

	if ((r = carry_fields(nc, old)) < 0 ||
	    (r = store_put(st->store, entry, nc, &se)) < 0) {
		snprintf(err, sizeof(err), "%s",
			 se.code ? se.msg : strerror(-r));
		/* The new key was never stored: take it back so that the
		 * one the store holds stays the only key. */
		if (iam_delete_key(endpoint, region, old, new_id, &de) < 0) {
			fprintf(stderr,
				"credfs: %s: store entry %s: %s; the new key "
				"%s could not be deleted either (%s): delete "
				"it by hand: aws iam delete-access-key "
				"--access-key-id %s; the old key %s is still "
				"live and stored\n",
				what, entry, err, new_id, de.msg, new_id,
				old_id);
			audit_rotate(st, profile, entry, old_id, new_id,
				     "store_failed_new_key_left", err);
		} else {
			fprintf(stderr,
				"credfs: %s: store entry %s: %s; the new key "
				"%s was deleted again; the old key %s is "
				"still live\n",
				what, entry, err, new_id, old_id);
			audit_rotate(st, profile, entry, old_id, new_id,
				     "store_failed", err);
		}
		goto out;
	}

	/* From here on the store holds the new key: delete the old one,
	 * signed with the new (the old may be the one that leaked). */
	if (iam_delete_key(endpoint, region, nc, old_id, &de) < 0) {
		fprintf(stderr,
			"credfs: %s: %s; both keys are active; the store "
			"holds %s; delete %s by hand: aws iam "
			"delete-access-key --access-key-id %s\n",
			what, de.msg, new_id, old_id, old_id);
		audit_rotate(st, profile, entry, old_id, new_id,
			     "old_key_not_deleted", de.msg);
	} else {
		printf("rotated %s: %s -> %s (old key deleted)\n", entry,
		       old_id, new_id);
		audit_rotate(st, profile, entry, old_id, new_id, "ok", NULL);
		rc = 0;
	}

	/* A running daemon holds aws-static keys in memory (they never
	 * expire): every profile reading this entry must pick up the new
	 * key now. */
	for (size_t i = 0; i < cfg->nprofiles; i++) {
		const struct profile_cfg *q = &cfg->profiles[i];
		const char *s = cfg_get(q->sec, "secret");

		if (strcmp(q->ops->name, "aws-static") != 0 || !s ||
		    strcmp(s, entry) != 0)
			continue;
		struct error de2 = {0};
		r = daemon_refresh(cfg, q->name, &de2);
		if (r == 1) {
			printf("no daemon is running: the next mount serves "
			       "%s\n",
			       new_id);
			break;
		}
		if (r < 0) {
			fprintf(stderr,
				"credfs: %s: the daemon still serves the old "
				"key for profile %s (%s): run `credfs refresh "
				"%s`\n",
				what, q->name, de2.msg, q->name);
			rc = 1;
			continue;
		}
		printf("daemon: profile %s now serves %s\n", q->name, new_id);
	}
	dependents(cfg, idx, deps, sizeof(deps));
	if (deps[0])
		printf("sessions of %s stay valid until they expire; their "
		       "next refresh signs with %s\n",
		       deps, new_id);
out:
	cred_unref(nc);
	cred_unref(old);
	context_free(st);
	return rc;
}

/* Where --deactivate-source acts for profile: the root of its source
 * chain, which must be aws-static with `secret =`; the endpoint is the
 * root's, else the nearest one along the chain (the region likewise).
 * 0, or 2 with the reason printed. */
struct deact_target {
	const struct profile_cfg *root;
	const char *entry, *endpoint, *region;
};

static int deact_resolve(const struct config *cfg, const char *profile,
			 const char *what, struct deact_target *t)
{
	const char *ep_chain = NULL, *reg_chain = NULL;
	size_t steps = 0;
	int idx, i;

	memset(t, 0, sizeof(*t));
	if ((idx = config_find_profile(cfg, profile)) < 0) {
		fprintf(stderr, "credfs: %s: no such profile in %s\n", what,
			cfg->path);
		return 2;
	}
	for (i = idx;; i = cfg->profiles[i].source) {
		const struct cfg_section *s = cfg->profiles[i].sec;

		if (!ep_chain && cfg_get(s, "endpoint"))
			ep_chain = cfg_get(s, "endpoint");
		if (!reg_chain && cfg_get(s, "region"))
			reg_chain = cfg_get(s, "region");
		if (cfg->profiles[i].source < 0)
			break;
		if (++steps > cfg->nprofiles) {
			fprintf(stderr, "credfs: %s: the source chain loops\n",
				what);
			return 2;
		}
	}
	t->root = &cfg->profiles[i];
	t->entry = cfg_get(t->root->sec, "secret");
	if (strcmp(t->root->ops->name, "aws-static") != 0 || !t->entry ||
	    !*t->entry) {
		fprintf(stderr,
			"credfs: %s: the root of the source chain, profile "
			"%s (%s), is not an aws-static profile with "
			"`secret = NAME`: no access key to deactivate\n",
			what, t->root->name, t->root->ops->name);
		return 2;
	}
	t->endpoint = cfg_get(t->root->sec, "endpoint");
	if (!t->endpoint)
		t->endpoint = ep_chain;
	t->region = cfg_get(t->root->sec, "region");
	if (!t->region)
		t->region = reg_chain ? reg_chain : "us-east-1";
	return 0;
}

int aws_cmd_deactivate_check(const struct config *cfg, const char *profile)
{
	struct deact_target t;
	char what[200];

	snprintf(what, sizeof(what), "revoke %s: --deactivate-source", profile);
	return deact_resolve(cfg, profile, what, &t);
}

int aws_cmd_deactivate_source(struct config *cfg, const char *profile)
{
	struct context *st = NULL;
	struct cred *c = NULL;
	struct error e = {0};
	struct deact_target t;
	char what[200], key_id[KEY_ID_LEN];
	const struct profile_cfg *root;
	const char *entry, *endpoint, *region;
	int r, rc;

	snprintf(what, sizeof(what), "revoke %s: --deactivate-source", profile);
	if ((rc = deact_resolve(cfg, profile, what, &t)) != 0)
		return rc;
	root = t.root;
	entry = t.entry;
	endpoint = t.endpoint;
	region = t.region;

	if ((rc = state_open(cfg, what, &st)) != 0)
		return rc;
	rc = 1;
	if (load_key(st, what, entry, &c, key_id, sizeof(key_id)) < 0)
		goto out;
	r = iam_set_key_status(endpoint, region, c, key_id, "Inactive", &e);
	{
		struct error ae = {0};
		cJSON *o = cJSON_CreateObject();
		add_str(o, "profile", profile);
		add_str(o, "source_profile", root->name);
		add_str(o, "entry", entry);
		add_str(o, "deactivated_key_id", key_id);
		add_str(o, "result", r < 0 ? "failed" : "ok");
		if (r < 0)
			add_str(o, "error", e.msg);
		if (context_audit(st, "revoke", o, &ae) < 0) {
			error_prefix(&ae, "%s", what);
			cli_fail(&ae);
		}
	}
	if (r < 0) {
		fprintf(stderr, "credfs: %s: %s\n", what, e.msg);
		goto out;
	}
	printf("deactivated access key %s (store entry %s, profile %s): it "
	       "signs nothing now; to undo: aws iam update-access-key "
	       "--access-key-id %s --status Active\n",
	       key_id, entry, root->name, key_id);
	rc = 0;
out:
	cred_unref(c);
	context_free(st);
	return rc;
}
