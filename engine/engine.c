/* engine: single-flight refresh with backoff, sealed cache, status. */
#include "core/util.h"
#include "engine/engine.h"
#include "engine/engine_int.h"
#include "engine/lease.h"
#include "access/audit.h"
#include "core/config.h"
#include "core/cred.h"
#include "core/secmem.h"
#include "crypto/store.h"
#include "core/provider.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

/* Profiles read within this long are kept fresh in the background. */
#define ENGINE_ACTIVE_WINDOW (30 * 60)
#define ENGINE_BACKOFF_MAX 300
#define ENGINE_DEFAULT_FETCH_TIMEOUT 30

struct job {
	struct engine *e;
	int idx;
};

/* An absolute CLOCK_MONOTONIC time for pthread_cond_timedwait. */
static struct timespec mono_abs(long ms)
{
	struct timespec ts = {.tv_sec = ms / 1000,
			      .tv_nsec = (ms % 1000) * 1000000};
	return ts;
}

static void cond_init_mono(pthread_cond_t *cv)
{
	pthread_condattr_t a;

	pthread_condattr_init(&a);
	pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
	pthread_cond_init(cv, &a);
	pthread_condattr_destroy(&a);
}

/* Seconds before expiry at which c is due for refresh. */
static time_t refresh_window(const struct engine *e, const struct cred *c)
{
	time_t before = e->cfg->refresh_before;
	time_t life = cred_expiration(c) - cred_obtained(c);

	if (cred_obtained(c) && life > 0 && life < 2 * before)
		return life / 2;
	return before;
}

bool engine_cred_valid(const struct cred *c, time_t now)
{
	return c && (!cred_expiration(c) || cred_expiration(c) > now);
}

bool engine_cred_due(const struct engine *e, const struct cred *c, time_t now)
{
	if (!c)
		return true;
	if (!cred_expiration(c))
		return false;
	return cred_expiration(c) - now <= refresh_window(e, c);
}

static int profile_timeout_ms(const struct engine *e, int idx)
{
	int secs = e->cfg->profiles[idx].common.timeout;

	return (secs > 0 ? secs : ENGINE_DEFAULT_FETCH_TIMEOUT) * 1000;
}

static struct provider_req make_req(const struct engine *e, int idx)
{
	const struct profile_cfg *pc = &e->cfg->profiles[idx];
	struct provider_req req = {
	    .profile_name = pc->name,
	    .common = &pc->common,
	    .state = pc->state,
	    .store = e->store,
	    .timeout_ms = profile_timeout_ms(e, idx),
	};
	return req;
}

static void audit_refresh(struct engine *e, int idx, const struct cred *c,
			  const char *err)
{
	if (!e->audit)
		return;
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "profile", e->cfg->profiles[idx].name);
	if (c) {
		char kid[96], exp[32];
		cred_key_id(c, kid, sizeof(kid));
		cJSON_AddStringToObject(o, "key_id", kid);
		if (cred_expiration(c)) {
			util_time_format(cred_expiration(c), exp, sizeof(exp));
			cJSON_AddStringToObject(o, "expires", exp);
		} else {
			cJSON_AddNullToObject(o, "expires");
		}
	} else {
		cJSON_AddStringToObject(o, "error", err);
	}
	audit_event(e->audit, c ? "refresh" : "refresh_failed", o);
}

/* Loads the sealed cache once per profile; caller holds p->mu. */
void engine_load_cache_locked(struct engine *e, int idx)
{
	struct pstate *p = &e->p[idx];
	struct cred *c = NULL;
	struct error se = {0};

	if (p->cache_checked)
		return;
	p->cache_checked = true;
	if (!e->store)
		return;
	int r = store_cache_load(e->store, e->cfg->profiles[idx].name, &c,
				 &se);
	if (r < 0) {
		if (r != -ENOENT && r != -ENOSYS) {
			error_set(&p->last, r, "sealed cache: %s",
				  se.msg[0] ? se.msg : strerror(-r));
			/* Kept for status after a refresh replaces it, and
			 * logged: a tampered cache is an incident. */
			snprintf(p->integrity, sizeof(p->integrity), "%s",
				 p->last.msg);
			fprintf(stderr, "credfs: profile %s: %s\n",
				e->cfg->profiles[idx].name, p->last.msg);
		}
		return;
	}
	if (!engine_cred_valid(c, time(NULL)) ||
	    (p->cur && cred_obtained(p->cur) >= cred_obtained(c))) {
		cred_unref(c);
		return;
	}
	if (e->cfg->profiles[idx].ops->renew && cred_get(c, "lease_id")) {
		/* its token may have died with the last daemon: renewed
		 * (or replaced) before it is served */
		cred_unref(p->pending);
		p->pending = c;
		return;
	}
	cred_unref(p->cur);
	p->cur = c;
	p->ever_had = true;
	p->last_refresh = cred_obtained(c);
	atomic_fetch_add(&e->generation, 1);
}

static void *refresh_thread(void *arg);

/* Caller holds p->mu.  Starts a refresh unless one is running; when it
 * cannot, p->last says why and p->refreshing stays false (so nobody waits
 * for a round that never comes). */
static void start_refresh_locked(struct engine *e, int idx)
{
	struct pstate *p = &e->p[idx];
	pthread_attr_t attr;
	pthread_t t;
	struct job *j;
	int r;

	if (p->refreshing)
		return;
	if (!(j = malloc(sizeof(*j)))) {
		error_set(&p->last, ENOMEM, "cannot start refresh: %s",
			  strerror(ENOMEM));
		return;
	}
	j->e = e;
	j->idx = idx;
	p->refreshing = true;
	p->refresh_started = util_mono_ms();
	if ((r = pthread_attr_init(&attr)) == 0) {
		pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
		r = pthread_create(&t, &attr, refresh_thread, j);
		pthread_attr_destroy(&attr);
	}
	if (r != 0) {
		p->refreshing = false;
		error_set(&p->last, r, "cannot start refresh: %s", strerror(r));
		free(j);
	}
}

static void do_refresh(struct engine *e, int idx)
{
	const struct profile_cfg *pc = &e->cfg->profiles[idx];
	struct pstate *p = &e->p[idx];
	struct cred *src = NULL, *c = NULL, *held = NULL;
	struct error pe = {0};
	char *mfa = NULL;
	struct provider_req req = make_req(e, idx);
	bool last = false, cached = false;
	int r, rr = 2;

	if (pc->source >= 0) {
		r = engine_get_e(e, pc->source, req.timeout_ms, &src, &pe);
		if (r < 0) {
			/* The source's own retry time is not ours. */
			pe.retry_in = 0;
			error_prefix(&pe, "source %s",
				     e->cfg->profiles[pc->source].name);
			goto done;
		}
	}
	pthread_mutex_lock(&p->mu);
	mfa = p->mfa_code;
	p->mfa_code = NULL;
	if (pc->ops->renew) {
		cached = p->pending != NULL;
		held = cached ? p->pending : cred_ref(p->cur);
		p->pending = NULL;
		last = p->reissue;
	}
	pthread_mutex_unlock(&p->mu);

	req.source = src;
	req.mfa_code = mfa;
	if (!engine_cred_valid(held, time(NULL))) {
		cred_unref(held); /* ended at the provider already */
		held = NULL;
	}
	r = pc->ops->renew ? lease_refresh(pc->ops, &req, e->audit, held, last,
					   &c, &rr, &pe)
			   : pc->ops->fetch(&req, &c, &pe);
	if (r < 0) {
		/* The return value is the code; the message is the
		 * provider's, or the code's own text. */
		if (!pe.msg[0])
			snprintf(pe.msg, sizeof(pe.msg), "%s", strerror(-r));
		pe.code = -r;
		if (pe.kind == ERROR_GENERIC)
			pe.kind = ERROR_PROVIDER;
	}
	if (r == 0 && !cred_obtained(c))
		cred_set_obtained(c, time(NULL));
	if (r == 0 && !engine_cred_valid(c, time(NULL))) {
		r = error_setk(&pe, EKEYEXPIRED, ERROR_PROVIDER,
			       "provider returned an expired credential");
		cred_unref(c);
		c = NULL;
	}
done:
	secmem_free(mfa);
	cred_unref(src);
	if (r == 0 && e->store && pc->ops->cacheable) {
		struct error se = {0};
		if (store_cache_save(e->store, pc->name, c, &se) < 0 &&
		    e->audit) {
			cJSON *o = cJSON_CreateObject();
			cJSON_AddStringToObject(o, "profile", pc->name);
			cJSON_AddStringToObject(o, "error", se.msg);
			audit_event(e->audit, "cache_write_failed", o);
		}
	}
	if (rr == 2 || rr < 0)
		audit_refresh(e, idx, r == 0 ? c : NULL, pe.msg);

	pthread_mutex_lock(&p->mu);
	long now = util_mono_ms();
	p->fetches++;
	if (r == 0) {
		p->reissue = rr == 1;
		cred_unref(p->cur);
		p->cur = c;
		c = NULL; /* transferred */
		p->ever_had = true;
		p->failures = 0;
		p->next_attempt = 0;
		p->last_refresh = time(NULL);
		error_clear(&p->last);
		atomic_fetch_add(&e->generation, 1);
	} else {
		if (cached && held && !p->pending) /* try it again next time */
			p->pending = cred_ref(held);
		p->failures++;
		unsigned shift = p->failures < 9 ? p->failures - 1 : 8;
		long base = 1L << shift;
		if (base > ENGINE_BACKOFF_MAX)
			base = ENGINE_BACKOFF_MAX;
		uint32_t rnd = 0;
		if (getrandom(&rnd, sizeof(rnd), 0) < 0)
			rnd = 0;
		/* jitter: between half and the whole backoff, at least 1 s */
		long secs = base / 2 + (long)(rnd % (uint32_t)(base / 2 + 1));
		if (secs < 1)
			secs = 1;
		p->next_attempt = now + secs * 1000;
		p->last = pe;
		p->last.retry_in = 0;
	}
	p->round++;
	p->refreshing = false;
	pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->mu);
	cred_unref(c);
	/* re-issued: the replaced lease ends, now that it is not served */
	if (r == 0 && (rr == 2 || rr < 0))
		lease_replaced(pc->ops, &req, e->audit, held);
	cred_unref(held);
}

static void *refresh_thread(void *arg)
{
	struct job *j = arg;
	do_refresh(j->e, j->idx);
	free(j);
	return NULL;
}

/* Seconds until p may be refreshed again (0: now); caller holds p->mu. */
static int retry_in_locked(const struct pstate *p, long now)
{
	return p->next_attempt > now
		   ? (int)((p->next_attempt - now + 999) / 1000)
		   : 0;
}

int engine_get_e(struct engine *e, int idx, int timeout_ms, struct cred **out,
		 struct error *err)
{
	struct pstate *p = &e->p[idx];
	long deadline = util_mono_ms() + timeout_ms;
	int r = 0;

	*out = NULL;
	pthread_mutex_lock(&p->mu);
	engine_load_cache_locked(e, idx);
	p->last_read = util_mono_ms();
	unsigned long round0 = p->round;
	for (;;) {
		time_t now = time(NULL);
		long mono = util_mono_ms();
		bool valid = engine_cred_valid(p->cur, now);
		if (engine_cred_due(e, valid ? p->cur : NULL, now) && !p->refreshing &&
		    mono >= p->next_attempt && p->round == round0)
			start_refresh_locked(e, idx);
		if (valid) {
			*out = cred_ref(p->cur);
			break;
		}
		if (p->cur) { /* expired: never served again */
			cred_unref(p->cur);
			p->cur = NULL;
			atomic_fetch_add(&e->generation, 1);
		}
		if (!p->refreshing) {
			if (p->last.code) {
				if (err)
					*err = p->last;
				r = -p->last.code;
			} else {
				r = error_set(err, EAGAIN, "no credential yet");
			}
			if (err)
				err->retry_in = retry_in_locked(p, mono);
			break;
		}
		/* A refresh that has already kept readers waiting for the
		 * whole timeout keeps no one waiting again: LOOKUP, OPEN and
		 * every profile of a file share one budget. */
		long bound = p->refresh_started + timeout_ms;
		long dl = deadline < bound ? deadline : bound;
		if (dl - mono <= 0) {
			r = error_setk(err, ETIMEDOUT, ERROR_PROVIDER,
				       "provider did not answer within %d ms "
				       "(refresh still running)",
				       timeout_ms);
			break;
		}
		struct timespec ts = mono_abs(dl);
		pthread_cond_timedwait(&p->cv, &p->mu, &ts);
	}
	pthread_mutex_unlock(&p->mu);
	return r;
}

/* The old text interface: the message, and the retry time after it. */
static void format_why(const struct error *err, char *why, size_t whylen)
{
	if (!why || !whylen)
		return;
	if (err->retry_in > 0)
		snprintf(why, whylen, "%s (next attempt in %ds)", err->msg,
			 err->retry_in);
	else
		snprintf(why, whylen, "%s", err->msg);
}

int engine_get(struct engine *e, int idx, int timeout_ms, struct cred **out,
	       char *why, size_t whylen)
{
	struct error err = {0};
	int r = engine_get_e(e, idx, timeout_ms, out, &err);

	if (r < 0)
		format_why(&err, why, whylen);
	return r;
}

bool engine_kick(struct engine *e, int idx)
{
	struct pstate *p = &e->p[idx];
	time_t now = time(NULL);
	bool valid;

	pthread_mutex_lock(&p->mu);
	engine_load_cache_locked(e, idx);
	p->last_read = util_mono_ms();
	valid = engine_cred_valid(p->cur, now);
	if (engine_cred_due(e, valid ? p->cur : NULL, now) && !p->refreshing &&
	    p->last_read >= p->next_attempt)
		start_refresh_locked(e, idx);
	pthread_mutex_unlock(&p->mu);
	return valid;
}

int engine_mint_for(struct engine *e, int idx,
		    const struct provider_caller *who, struct cred **out,
		    char *why, size_t whylen)
{
	const struct profile_cfg *pc = &e->cfg->profiles[idx];
	struct provider_req req = make_req(e, idx);
	struct error pe = {0};
	int r;

	*out = NULL;
	req.caller = who;
	if ((r = pc->ops->fetch(&req, out, &pe)) < 0)
		snprintf(why, whylen, "%s", pe.msg[0] ? pe.msg : strerror(-r));
	return r;
}

struct cred *engine_peek(struct engine *e, int idx)
{
	struct pstate *p = &e->p[idx];
	struct cred *c = NULL;

	pthread_mutex_lock(&p->mu);
	engine_load_cache_locked(e, idx);
	if (engine_cred_valid(p->cur, time(NULL)))
		c = cred_ref(p->cur);
	pthread_mutex_unlock(&p->mu);
	return c;
}

int engine_refresh_now_e(struct engine *e, int idx, const char *mfa_code,
			 int timeout_ms, struct error *err)
{
	struct pstate *p = &e->p[idx];
	long deadline = util_mono_ms() + timeout_ms;
	struct timespec ts = mono_abs(deadline);
	int r;

	pthread_mutex_lock(&p->mu);
	/* Wait out a refresh already running: it may lack the code. */
	while (p->refreshing)
		if (pthread_cond_timedwait(&p->cv, &p->mu, &ts) == ETIMEDOUT)
			break;
	if (p->refreshing) {
		pthread_mutex_unlock(&p->mu);
		return error_set(err, EBUSY, "a refresh is still running");
	}
	secmem_free(p->mfa_code);
	p->mfa_code = mfa_code ? secmem_strdup(mfa_code) : NULL;
	p->next_attempt = 0;
	p->last_read = util_mono_ms(); /* asked for: keep it fresh */
	unsigned long round0 = p->round;
	start_refresh_locked(e, idx);
	if (!p->refreshing) { /* could not start: p->last says why */
		if (err)
			*err = p->last;
		r = -p->last.code;
		pthread_mutex_unlock(&p->mu);
		return r;
	}
	while (p->round == round0)
		if (pthread_cond_timedwait(&p->cv, &p->mu, &ts) == ETIMEDOUT)
			break;
	if (p->round == round0) {
		r = error_set(err, ETIMEDOUT,
			      "refresh still running after %d ms", timeout_ms);
	} else if (p->last.code) {
		if (err)
			*err = p->last;
		r = -p->last.code;
	} else {
		r = 0;
	}
	pthread_mutex_unlock(&p->mu);
	return r;
}

int engine_refresh_now(struct engine *e, int idx, const char *mfa_code,
		       int timeout_ms, char *err, size_t errlen)
{
	struct error er = {0};
	int r = engine_refresh_now_e(e, idx, mfa_code, timeout_ms, &er);

	if (r < 0)
		snprintf(err, errlen, "%s", er.msg);
	return r;
}

int engine_refresh_if_needed_e(struct engine *e, int idx, struct cred **out,
			       struct error *err)
{
	return engine_get_e(e, idx, profile_timeout_ms(e, idx) + 1000, out,
			    err);
}

int engine_refresh_if_needed(struct engine *e, int idx, struct cred **out,
			     char *err, size_t errlen)
{
	return engine_get(e, idx, profile_timeout_ms(e, idx) + 1000, out, err,
			  errlen);
}

int engine_revoke_e(struct engine *e, int idx, struct error *err)
{
	size_t from = idx < 0 ? 0 : (size_t)idx;
	size_t to = idx < 0 ? e->n : (size_t)idx + 1;
	int rc = 0;

	for (size_t i = from; i < to; i++) {
		const struct profile_cfg *pc = &e->cfg->profiles[i];
		struct pstate *p = &e->p[i];
		struct cred *old;

		pthread_mutex_lock(&p->mu);
		/* a renewal in flight would publish the lease revoked here */
		struct timespec ts =
		    mono_abs(util_mono_ms() + profile_timeout_ms(e, (int)i));
		while (p->refreshing &&
		       pthread_cond_timedwait(&p->cv, &p->mu, &ts) == 0)
			;
		old = p->cur ? p->cur : p->pending;
		if (p->cur)
			cred_unref(p->pending);
		p->cur = p->pending = NULL;
		p->reissue = false;
		p->cache_checked = true; /* the cache is going too */
		p->next_attempt = 0;
		/* Not in use any more: the next fetch waits for a read. */
		p->last_read = 0;
		pthread_mutex_unlock(&p->mu);
		atomic_fetch_add(&e->generation, 1);
		if (e->store)
			store_cache_remove(e->store, pc->name);
		if (old && pc->ops->revoke) {
			struct error pe = {0};
			struct provider_req req = make_req(e, (int)i);
			int r = pc->ops->revoke(&req, old, &pe);
			if (cred_get(old, "lease_id"))
				lease_audit(e->audit, pc->name, "lease_revoke",
					    old, "revoke",
					    r < 0 ? pe.msg : NULL);
			if (r < 0) {
				if (err) {
					*err = pe;
					err->code = -r;
					error_prefix(err, "profile %s",
						     pc->name);
				}
				rc = -EIO;
			}
		}
		if (e->audit) {
			cJSON *o = cJSON_CreateObject();
			cJSON_AddStringToObject(o, "profile", pc->name);
			if (old) {
				char kid[96];
				cred_key_id(old, kid, sizeof(kid));
				cJSON_AddStringToObject(o, "key_id", kid);
			}
			audit_event(e->audit, "revoke", o);
		}
		cred_unref(old);
	}
	return rc;
}

int engine_revoke(struct engine *e, int idx, char *err, size_t errlen)
{
	struct error er = {0};
	int r = engine_revoke_e(e, idx, &er);

	snprintf(err, errlen, "%s", r < 0 ? er.msg : "");
	return r;
}

unsigned long engine_fetch_count(struct engine *e, int idx)
{
	struct pstate *p = &e->p[idx];
	pthread_mutex_lock(&p->mu);
	unsigned long n = p->fetches;
	pthread_mutex_unlock(&p->mu);
	return n;
}

unsigned long engine_generation(struct engine *e)
{
	return atomic_load(&e->generation);
}

/* Keeps recently read profiles fresh, so readers rarely see a window. */
static void *background(void *arg)
{
	struct engine *e = arg;

	pthread_mutex_lock(&e->stop_mu);
	while (!atomic_load(&e->stop)) {
		struct timespec ts = mono_abs(util_mono_ms() + 1000);
		pthread_cond_timedwait(&e->stop_cv, &e->stop_mu, &ts);
		if (atomic_load(&e->stop))
			break;
		time_t now = time(NULL);
		long mono = util_mono_ms();
		for (size_t i = 0; i < e->n; i++) {
			struct pstate *p = &e->p[i];
			const struct provider_ops *ops =
			    e->cfg->profiles[i].ops;
			struct provider_req req = make_req(e, (int)i);
			/* the session that keeps the leases alive ends */
			time_t by = ops->renew_by ? ops->renew_by(&req) : 0;
			pthread_mutex_lock(&p->mu);
			bool valid = engine_cred_valid(p->cur, now);
			if (p->last_read &&
			    mono - p->last_read <
				ENGINE_ACTIVE_WINDOW * 1000L &&
			    !p->refreshing && mono >= p->next_attempt &&
			    (engine_cred_due(e, valid ? p->cur : NULL, now) ||
			     (valid && by && now >= by)))
				start_refresh_locked(e, (int)i);
			pthread_mutex_unlock(&p->mu);
		}
	}
	pthread_mutex_unlock(&e->stop_mu);
	return NULL;
}

int engine_new(const struct config *cfg, struct store *store,
	       struct audit *audit, struct engine **out)
{
	struct engine *e = calloc(1, sizeof(*e));

	if (!e)
		return -ENOMEM;
	e->cfg = cfg;
	e->store = store;
	e->audit = audit;
	e->n = cfg->nprofiles;
	if (e->n && !(e->p = calloc(e->n, sizeof(*e->p)))) {
		free(e);
		return -ENOMEM;
	}
	for (size_t i = 0; i < e->n; i++) {
		pthread_mutex_init(&e->p[i].mu, NULL);
		cond_init_mono(&e->p[i].cv);
	}
	pthread_mutex_init(&e->stop_mu, NULL);
	cond_init_mono(&e->stop_cv);
	*out = e;
	return 0;
}

int engine_start(struct engine *e)
{
	int r = pthread_create(&e->bg, NULL, background, e);
	if (r)
		return -r;
	e->bg_started = true;
	return 0;
}

void engine_free(struct engine *e)
{
	if (!e)
		return;
	if (e->bg_started) {
		pthread_mutex_lock(&e->stop_mu);
		atomic_store(&e->stop, true);
		pthread_cond_broadcast(&e->stop_cv);
		pthread_mutex_unlock(&e->stop_mu);
		pthread_join(e->bg, NULL);
	}
	/* Wait for detached refreshes to finish before freeing state. */
	for (size_t i = 0; i < e->n; i++) {
		struct pstate *p = &e->p[i];
		pthread_mutex_lock(&p->mu);
		while (p->refreshing)
			pthread_cond_wait(&p->cv, &p->mu);
		pthread_mutex_unlock(&p->mu);
	}
	for (size_t i = 0; i < e->n; i++) {
		cred_unref(e->p[i].cur);
		cred_unref(e->p[i].pending);
		secmem_free(e->p[i].mfa_code);
		pthread_mutex_destroy(&e->p[i].mu);
		pthread_cond_destroy(&e->p[i].cv);
	}
	free(e->p);
	free(e);
}
