/* engine + a provider with leases: renew instead of fetch, re-issue after
 * the last renewal with the replaced lease revoked, a failed renewal
 * falls back to a fetch, the provider's session deadline triggers a
 * renewal, revoke_on_unmount. */
#include "providers/registry.h"
#include "tests/tap.h"
#include "core/config.h"
#include "core/cred.h"
#include "engine/engine.h"
#include "core/provider.h"
#include "core/secmem.h"

#include <errno.h>
#include <stdatomic.h>
#include <time.h>
#include <unistd.h>

static atomic_int fetches, renews, revokes, renew_mode, lifetime = 600;
static atomic_long session_end;
static atomic_bool at_unmount;
static char revoked[8][32];

static struct cred *lease(int n, time_t exp)
{
	struct cred *c = cred_new();
	char id[32];
	snprintf(id, sizeof(id), "lease-%d", n);
	if (cred_set(c, "username", "u") < 0 ||
	    cred_set(c, "password", id + 6) < 0 ||
	    cred_set(c, "lease_id", id) < 0)
		abort();
	cred_set_obtained(c, time(NULL));
	cred_set_expiration(c, exp);
	return c;
}

static int f_fetch(const struct provider_req *req, struct cred **out,
		   struct error *e)
{
	int n = atomic_fetch_add(&fetches, 1) + 1;
	*out = lease(n, time(NULL) + atomic_load(&lifetime));
	return 0;
}

static int f_renew(const struct provider_req *req, const struct cred *c,
		   struct cred **out, struct error *e)
{
	atomic_fetch_add(&renews, 1);
	int mode = atomic_load(&renew_mode);
	if (mode < 0)
		return error_set(e, EINVAL, "lease not found");
	if (mode == 2)
		return 2;
	*out = lease(atoi(cred_get(c, "lease_id") + 6),
		     time(NULL) + atomic_load(&lifetime));
	return mode;
}

static int f_revoke(const struct provider_req *req, const struct cred *c,
		    struct error *e)
{
	int n = atomic_fetch_add(&revokes, 1);
	if (n < 8)
		snprintf(revoked[n], sizeof(revoked[n]), "%s",
			 cred_get(c, "lease_id"));
	return 0;
}

static time_t f_renew_by(const struct provider_req *req)
{
	return (time_t)atomic_load(&session_end);
}

static bool f_at_unmount(const void *state)
{
	return atomic_load(&at_unmount);
}

static const struct provider_ops fake = {.name = "exec",
					 .fetch = f_fetch,
					 .revoke = f_revoke,
					 .renew = f_renew,
					 .renew_by = f_renew_by,
					 .revoke_at_unmount = f_at_unmount};

static const char *lease_of(struct engine *eng)
{
	static char id[32];
	struct cred *c = NULL;
	char why[256];
	id[0] = 0;
	if (engine_get(eng, 0, 5000, &c, why, sizeof(why)) == 0)
		snprintf(id, sizeof(id), "%s", cred_get(c, "lease_id"));
	cred_unref(c);
	return id;
}

/* The replaced lease is revoked after the new one is published: a moment
 * after the refresh returns. */
static int revokes_after(int n)
{
	for (int i = 0; i < 50 && atomic_load(&revokes) < n; i++)
		usleep(20 * 1000);
	return atomic_load(&revokes);
}

static time_t expiry(struct engine *eng)
{
	struct cred *c = engine_peek(eng, 0);
	time_t t = cred_expiration(c);
	cred_unref(c);
	return t;
}

/* An engine over one profile whose provider is ops (no store, no audit). */
static struct engine *engine_over(const struct provider_ops *ops,
				  struct config **cfg, struct diag *d)
{
	char path[] = "/tmp/credfs-test-lease-XXXXXX";
	struct engine *eng = NULL;
	FILE *f = fdopen(mkstemp(path), "w");

	if (!f)
		return NULL;
	fputs("[credfs]\nrefresh_before = 15m\n[profile p]\nprovider = exec\n"
	      "command = true\n",
	      f);
	fclose(f);
	int r = config_load(path, providers_all, cfg, d);
	unlink(path);
	if (r < 0)
		return NULL;
	(*cfg)->profiles[0].ops = ops;
	return engine_new(*cfg, NULL, NULL, &eng) < 0 ? NULL : eng;
}

int main(void)
{
	struct config *cfg = NULL;
	struct diag d = {0};
	char err[256];

	secmem_init_cjson();
	struct engine *eng = engine_over(&fake, &cfg, &d);
	if (!eng)
		return 1;

	is_str(lease_of(eng), "lease-1", "the first read fetches a lease");
	for (int i = 0; i < 100; i++)
		lease_of(eng);
	ok(fetches == 1 && renews == 0, "100 reads: one fetch (%d)",
	   (int)fetches);

	atomic_store(&lifetime, 1200);
	ok(engine_refresh_now(eng, 0, NULL, 5000, err, sizeof(err)) == 0,
	   "a due refresh: %s", err);
	ok(renews == 1 && fetches == 1 && !strcmp(lease_of(eng), "lease-1") &&
	       expiry(eng) >= time(NULL) + 1190,
	   "it renews the lease (no fetch): later expiry, same lease");

	atomic_store(&renew_mode, 1);
	ok(engine_refresh_now(eng, 0, NULL, 5000, err, sizeof(err)) == 0 &&
	       renews == 2 && fetches == 1,
	   "the last renewal (max TTL) is still a renewal");
	ok(engine_refresh_now(eng, 0, NULL, 5000, err, sizeof(err)) == 0 &&
	       renews == 2 && fetches == 2 && !strcmp(lease_of(eng), "lease-2"),
	   "after the last renewal the next refresh re-issues (renews %d, "
	   "fetches %d)",
	   (int)renews, (int)fetches);
	ok(revokes_after(1) == 1 && !strcmp(revoked[0], "lease-1"),
	   "the replaced lease is revoked at the provider (%s)", revoked[0]);

	atomic_store(&renew_mode, -1);
	ok(engine_refresh_now(eng, 0, NULL, 5000, err, sizeof(err)) == 0 &&
	       renews == 3 && fetches == 3 &&
	       !strcmp(lease_of(eng), "lease-3") && revokes_after(2) == 2 &&
	       !strcmp(revoked[1], "lease-2"),
	   "a failed renewal falls back to a fetch; the old lease is revoked");

	atomic_store(&renew_mode, 2);
	ok(engine_refresh_now(eng, 0, NULL, 5000, err, sizeof(err)) == 0 &&
	       renews == 4 && fetches == 4 && revokes_after(3) == 3,
	   "nothing to renew: a fetch");

	/* the provider's session ends: the background renews before that */
	atomic_store(&renew_mode, 0);
	if (engine_start(eng) < 0)
		return 1;
	lease_of(eng); /* in use */
	int r0 = renews;
	atomic_store(&session_end, (long)time(NULL) - 1);
	for (int i = 0; i < 50 && renews == r0; i++)
		usleep(100 * 1000);
	atomic_store(&session_end, 0);
	ok(renews > r0 && fetches == 4,
	   "a session deadline (renew_by) triggers a renewal, not a fetch "
	   "(renews %d)",
	   (int)renews);

	/* unmount: only when the profile asks */
	int v0 = revokes;
	ok(engine_unmount(eng, cfg) == 0 && revokes == v0,
	   "unmount without revoke_on_unmount revokes nothing");
	atomic_store(&at_unmount, true);
	ok(engine_unmount(eng, cfg) == 0 && revokes == v0 + 1 &&
	       !strcmp(revoked[v0], "lease-4") && !engine_peek(eng, 0),
	   "revoke_on_unmount: the held lease is revoked and dropped (%s)",
	   revoked[v0 < 8 ? v0 : 7]);
	ok(engine_revoke(eng, 0, err, sizeof(err)) == 0 && revokes == v0 + 1,
	   "revoking again: nothing held, nothing revoked");

	engine_free(eng);
	config_free(cfg);
	diag_free(&d);
	return tap_done();
}
