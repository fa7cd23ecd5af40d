/* open: authorize -> snapshot -> serve -> release, FUSE-free. */
#include "engine/open.h"
#include "access/audit.h"
#include "access/caller.h"
#include "core/config.h"
#include "core/cred.h"
#include "core/provider.h"
#include "core/render.h"
#include "core/util.h"
#include "engine/engine.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The size of a shared-view file, valid while no credential changed (same
 * engine generation) and none of those shown has expired: a stat need not
 * render. */
struct size_memo {
	pthread_mutex_t mu;
	bool valid;
	unsigned long gen;
	time_t until;
	off_t size;
	time_t mtime;
};

struct open_pipeline {
	const struct config *cfg;
	struct engine *engine;
	struct audit *audit;
	time_t started;
	gid_t gid;
	atomic_bool locked;
	atomic_ulong *opens;
	atomic_ulong *denials;
	atomic_ulong *cache_gen; /* cache_kernel: generation last served */
	struct size_memo *memo;
	/* Where an open's time goes (ns, summed over allowed opens). */
	atomic_ullong t_identify, t_policy, t_render, t_audit, t_opens;
};

/* One identity buffer per thread (70 KiB: the ancestor paths), not an
 * allocation per open. */
static pthread_key_t caller_key;
static pthread_once_t caller_once = PTHREAD_ONCE_INIT;

static void caller_key_init(void)
{
	pthread_key_create(&caller_key, free);
}

static struct caller *thread_caller(void)
{
	struct caller *c;

	pthread_once(&caller_once, caller_key_init);
	if (!(c = pthread_getspecific(caller_key))) {
		c = malloc(sizeof(*c));
		if (c && pthread_setspecific(caller_key, c) != 0) {
			free(c);
			c = NULL;
		}
	}
	return c;
}

int open_pipeline_new(const struct config *cfg, struct engine *engine,
		      struct audit *audit, struct open_pipeline **out)
{
	struct open_pipeline *p = calloc(1, sizeof(*p));
	size_t n = cfg->nfiles + 1;

	if (!p)
		return -ENOMEM;
	p->cfg = cfg;
	p->engine = engine;
	p->audit = audit;
	p->started = time(NULL);
	p->gid = getgid();
	p->opens = calloc(n, sizeof(*p->opens));
	p->denials = calloc(n, sizeof(*p->denials));
	p->cache_gen = calloc(n, sizeof(*p->cache_gen));
	p->memo = calloc(n, sizeof(*p->memo));
	if (!p->opens || !p->denials || !p->cache_gen || !p->memo) {
		free(p->opens);
		free(p->denials);
		free(p->cache_gen);
		free(p->memo);
		free(p);
		return -ENOMEM;
	}
	for (size_t i = 0; i < cfg->nfiles; i++) {
		pthread_mutex_init(&p->memo[i].mu, NULL);
		atomic_store(&p->cache_gen[i], (unsigned long)-1);
	}
	*out = p;
	return 0;
}

void open_pipeline_free(struct open_pipeline *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->cfg->nfiles; i++)
		pthread_mutex_destroy(&p->memo[i].mu);
	free(p->opens);
	free(p->denials);
	free(p->cache_gen);
	free(p->memo);
	free(p);
}

void open_set_locked(struct open_pipeline *p, bool locked)
{
	atomic_store(&p->locked, locked);
}

bool open_locked(const struct open_pipeline *p)
{
	return atomic_load(&p->locked);
}

static bool hidden(const struct file_cfg *f, const struct policy_decision *d,
		   size_t k)
{
	return f->per_caller && d && !policy_admits_profile(d, f->labels[k]);
}

/* Whether profile k of f is minted for each reader (per-caller view of a
 * provider such as oidc-issuer) rather than shared. */
static bool minted(const struct open_pipeline *p, const struct file_cfg *f,
		   size_t k)
{
	return f->per_caller && p->cfg->profiles[f->prof[k]].ops->per_caller;
}

/* A credential of profile idx minted for caller c (its executable hashed
 * now, the process checked to be the one identified). */
static int mint_for(struct open_pipeline *p, int idx, struct caller *c,
		    struct cred **out, char *why, size_t whylen)
{
	char hex[65];
	int r;

	*out = NULL;
	if (!c ||
	    (r = caller_complete(c, CALLER_NEED_CGROUP | CALLER_NEED_SHA256)) <
		0 ||
	    !c->have_sha256) {
		snprintf(why, whylen, "the reader could not be identified");
		return -EACCES;
	}
	util_hex(c->exe_sha256, sizeof(c->exe_sha256), hex);
	struct provider_caller who = {
	    .uid = (unsigned)c->uid,
	    .exe = c->exe,
	    .exe_sha256 = hex,
	    .cgroup = c->cgroup,
	};
	return engine_mint_for(p->engine, idx, &who, out, why, whylen);
}

/* Collect the render input: credentials of each profile of f, honouring
 * a per-caller view (who: the reader, or NULL).  wait: block on refresh
 * (open) or only peek (stat). */
static void gather(struct open_pipeline *p, const struct file_cfg *f, pid_t tid,
		   struct caller *who, const struct policy_decision *d,
		   bool wait, struct render_profile *rp, char whys[][256])
{
	/* Every profile's refresh starts at once, and all share one
	 * open_timeout: a file of slow profiles waits once, not per profile. */
	long deadline = util_mono_ms() + p->cfg->open_timeout * 1000L;
	bool missing = false, own = false;

	for (size_t k = 0; wait && k < f->nprof; k++)
		if (!hidden(f, d, k) && !minted(p, f, k) &&
		    !engine_kick(p->engine, f->prof[k]))
			missing = true;
	/* A provider command of this daemon reading the mount would wait for
	 * its own fetch: it gets what is cached now, without waiting.  Asked
	 * only when someone would wait, so it costs the common open nothing. */
	if (missing && caller_descends_from(tid, getpid()))
		own = true, wait = false;
	for (size_t k = 0; k < f->nprof; k++) {
		struct cred *c = NULL;
		int idx = f->prof[k];

		rp[k] = (struct render_profile){
		    .label = f->labels[k],
		    .profile = p->cfg->profiles[idx].name,
		};
		if (hidden(f, d, k)) {
			rp[k].hidden = true;
			continue;
		}
		whys[k][0] = 0;
		if (minted(p, f, k)) {
			if (mint_for(p, idx, who, &c, whys[k], 256) < 0)
				c = NULL;
		} else if (wait) {
			long left = deadline - util_mono_ms();
			if (engine_get(p->engine, idx, left > 0 ? (int)left : 0,
				       &c, whys[k], 256) < 0)
				c = NULL;
		} else if (!(c = engine_peek(p->engine, idx))) {
			snprintf(whys[k], 256, "%s",
				 own ? "a provider of this mount cannot wait "
				       "for its own fetch"
				     : "not fetched yet");
		}
		rp[k].cred = c;
		rp[k].why = whys[k];
	}
}

static void release_creds(struct render_profile *rp, size_t n)
{
	for (size_t k = 0; k < n; k++)
		cred_unref((struct cred *)rp[k].cred);
}

static time_t newest(const struct render_profile *rp, size_t n, time_t dflt)
{
	time_t t = 0;
	for (size_t k = 0; k < n; k++)
		if (rp[k].cred && cred_obtained(rp[k].cred) > t)
			t = cred_obtained(rp[k].cred);
	return t ? t : dflt;
}

static bool memo_get(struct open_pipeline *p, size_t fidx, off_t *size,
		     time_t *mtime)
{
	struct size_memo *m = &p->memo[fidx];
	bool ok;

	pthread_mutex_lock(&m->mu);
	ok = m->valid && m->gen == engine_generation(p->engine) &&
	     time(NULL) < m->until;
	if (ok) {
		*size = m->size;
		*mtime = m->mtime;
	}
	pthread_mutex_unlock(&m->mu);
	return ok;
}

/* Remember a render of every profile of f (a shared view only). */
static void memo_put(struct open_pipeline *p, size_t fidx, unsigned long gen,
		     const struct render_profile *rp, size_t n, off_t size,
		     time_t mtime)
{
	struct size_memo *m = &p->memo[fidx];
	time_t until = (time_t)1 << 62;

	for (size_t k = 0; k < n; k++) {
		if (!rp[k].cred || rp[k].hidden)
			return; /* a reason text may change: not memoised */
		time_t e = cred_expiration(rp[k].cred);
		if (e && e < until)
			until = e;
	}
	pthread_mutex_lock(&m->mu);
	m->valid = true;
	m->gen = gen;
	m->until = until;
	m->size = size;
	m->mtime = mtime;
	pthread_mutex_unlock(&m->mu);
}

static void base_stat(const struct open_pipeline *p, const struct file_cfg *f,
		      struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_mode = S_IFREG | f->mode;
	st->st_nlink = 1;
	st->st_uid = p->cfg->owner;
	st->st_gid = p->gid;
	st->st_blksize = 4096;
}

static void finish_times(const struct open_pipeline *p, struct stat *st)
{
	if (!st->st_mtime)
		st->st_mtime = p->started;
	st->st_atime = st->st_ctime = st->st_mtime;
	st->st_blocks = (st->st_size + 511) / 512;
}

int open_stat(struct open_pipeline *p, size_t fidx, const struct open_who *who,
	      struct stat *st)
{
	const struct file_cfg *f = &p->cfg->files[fidx];
	struct render_profile rp[CONFIG_MAX_FILE_PROFILES];
	char whys[CONFIG_MAX_FILE_PROFILES][256];
	struct secbuf b = {0};
	char err[256];
	size_t n = f->nprof;
	struct policy_decision d;
	struct caller *c = NULL;
	bool have_d = false;

	base_stat(p, f, st);
	if (f->per_caller) {
		/* the size this caller would get */
		if (!(c = thread_caller()))
			return -ENOMEM;
		if (caller_identify_need(who->tid, who->uid, who->gid,
					 rules_needs(f->policy), c) < 0)
			goto times;
		policy_decide(f->policy, c, &d);
		if (!d.allow)
			goto times;
		have_d = true;
	} else if (memo_get(p, fidx, &st->st_size, &st->st_mtime)) {
		goto times;
	}
	unsigned long gen = engine_generation(p->engine);
	/* A stat never waits for a provider: LOOKUP runs under the kernel's
	 * lock on the name, and a provider command reading this same file
	 * would queue behind it.  The owner's stat starts what is due, so the
	 * open that follows finds it sooner. */
	if (who->uid == p->cfg->owner)
		for (size_t k = 0; k < n; k++)
			engine_kick(p->engine, f->prof[k]);
	gather(p, f, who->tid, c, have_d ? &d : NULL, false, rp, whys);
	st->st_mtime = newest(rp, n, p->started);
	if (render_file(
		&(struct render_input){
		    .file = f, .n = n, .p = rp, .now = time(NULL),
		    .mountpoint = p->cfg->mountpoint},
		&b, err, sizeof(err)) == 0) {
		st->st_size = (off_t)b.len;
		if (!f->per_caller)
			memo_put(p, fidx, gen, rp, n, st->st_size,
				 st->st_mtime);
	}
	secbuf_wipe(&b);
	release_creds(rp, n);
times:
	finish_times(p, st);
	return 0;
}

void open_handle_stat(const struct open_pipeline *p,
		      const struct open_handle *h, struct stat *st)
{
	base_stat(p, &p->cfg->files[h->fidx], st);
	st->st_size = (off_t)h->buf.len;
	st->st_mtime = h->mtime;
	finish_times(p, st);
}

void open_vdir_stat(const struct open_pipeline *p, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_mode = S_IFDIR | 0500;
	st->st_nlink = 2;
	st->st_uid = p->cfg->owner;
	st->st_gid = p->gid;
	st->st_mtime = st->st_atime = st->st_ctime = p->started;
}

static void audit_deny(struct open_pipeline *p, const struct file_cfg *f,
		       const struct caller *c, const struct policy_decision *d)
{
	const char *labels[CONFIG_MAX_FILE_PROFILES];
	size_t n = 0;

	for (size_t k = 0; k < f->nprof; k++)
		labels[n++] = f->labels[k];
	audit_open_event(p->audit, f->path, labels, n, c, d, NULL, 0, 0);
}

int open_authorize(struct open_pipeline *p, size_t fidx,
		   const struct open_who *who, int flags, struct open_auth *a)
{
	const struct file_cfg *f = &p->cfg->files[fidx];

	if ((flags & O_ACCMODE) != O_RDONLY || (flags & O_TRUNC))
		return -EACCES;
	memset(a, 0, sizeof(*a));
	a->fidx = fidx;
	a->who = *who;
	a->t0 = util_mono_ns();
	if (!(a->c = thread_caller()))
		return -ENOMEM;
	/* What this file's rules look at is read now; the audit line's
	 * cmdline and cgroup may come from the identity cache (the same task
	 * within a second); ancestors and hashes only when a rule reaches
	 * them. */
	if (caller_identify_cached(who->tid, who->uid, who->gid,
				   rules_needs(f->policy) |
				       CALLER_NEED_CMDLINE | CALLER_NEED_CGROUP,
				   rules_needs(f->policy), a->c) < 0) {
		/* Unidentifiable: denied, and audited with what is known. */
		policy_decide(f->policy, NULL, &a->d);
	} else {
		a->t1 = util_mono_ns();
		policy_decide(f->policy, a->c, &a->d);
	}
	a->t2 = util_mono_ns();
	if (atomic_load(&p->locked)) {
		a->d.allow = false;
		a->d.line = 0;
		snprintf(a->d.rule, sizeof(a->d.rule), "locked");
	}
	if (!a->d.allow) {
		atomic_fetch_add(&p->denials[fidx], 1);
		audit_deny(p, f, a->c, &a->d);
		return -EACCES;
	}
	return 0;
}

/* Page-cache policy of a cache_kernel file: the cache is kept while no
 * credential changed since the previous open; until a stat has seen this
 * content's size (the kernel caps cached reads at it) it is served
 * directly. */
static void cache_policy(struct open_pipeline *p, struct open_handle *h,
			 unsigned long gen)
{
	const struct file_cfg *f = &p->cfg->files[h->fidx];
	off_t known_size;
	time_t known_mtime;

	if (!f->cache_kernel)
		return;
	if (memo_get(p, h->fidx, &known_size, &known_mtime) &&
	    known_size == (off_t)h->buf.len) {
		h->page_cache = true;
		h->keep_cache =
		    atomic_exchange(&p->cache_gen[h->fidx], gen) == gen;
	} else {
		atomic_store(&p->cache_gen[h->fidx], (unsigned long)-1);
	}
}

int open_snapshot(struct open_pipeline *p, struct open_auth *a,
		  struct open_handle **out)
{
	const struct file_cfg *f = &p->cfg->files[a->fidx];
	struct render_profile rp[CONFIG_MAX_FILE_PROFILES];
	char whys[CONFIG_MAX_FILE_PROFILES][256];
	const char *labels[CONFIG_MAX_FILE_PROFILES],
	    *kids[CONFIG_MAX_FILE_PROFILES];
	char kidbuf[CONFIG_MAX_FILE_PROFILES][96];
	struct open_handle *h = NULL;
	char err[512];
	size_t n = f->nprof, nl = 0, nk = 0;
	time_t expires = 0;
	unsigned long long t3;
	int r;

	gather(p, f, a->who.tid, a->c, &a->d, true, rp, whys);
	if (!(h = calloc(1, sizeof(*h)))) {
		r = -ENOMEM;
		goto out;
	}
	h->fidx = a->fidx;
	h->uid = a->who.uid;
	unsigned long gen = engine_generation(p->engine);
	r = render_file(
	    &(struct render_input){
		.file = f, .n = n, .p = rp, .now = time(NULL),
		    .mountpoint = p->cfg->mountpoint},
	    &h->buf, err, sizeof(err));
	for (size_t k = 0; k < n; k++) {
		if (rp[k].hidden)
			continue;
		labels[nl++] = rp[k].label;
		if (!rp[k].cred)
			continue;
		cred_key_id(rp[k].cred, kidbuf[nk], sizeof(kidbuf[nk]));
		kids[nk] = kidbuf[nk];
		nk++;
		time_t e = cred_expiration(rp[k].cred);
		if (e && (!expires || e < expires))
			expires = e;
	}
	if (r < 0) {
		/* Audited as allowed with nothing served: the reason is in
		 * status; the open itself fails. */
		audit_open_event(p->audit, f->path, labels, nl, a->c, &a->d,
				 NULL, 0, 0);
		r = -EIO;
		goto out;
	}
	t3 = util_mono_ns();
	/* WARNING: the audit line is written before a byte can be served;
	 * with audit_required an unwritten line means nothing is served. */
	if (audit_open_event(p->audit, f->path, labels, nl, a->c, &a->d, kids,
			     nk, expires) < 0 &&
	    p->cfg->audit_required) {
		r = -EIO;
		goto out;
	}
	if (a->t1) {
		atomic_fetch_add(&p->t_identify, a->t1 - a->t0);
		atomic_fetch_add(&p->t_policy, a->t2 - a->t1);
		atomic_fetch_add(&p->t_render, t3 - a->t2);
		atomic_fetch_add(&p->t_audit, util_mono_ns() - t3);
		atomic_fetch_add(&p->t_opens, 1);
	}
	atomic_fetch_add(&p->opens[a->fidx], 1);
	h->mtime = newest(rp, n, p->started);
	cache_policy(p, h, gen);
	if (!f->per_caller)
		memo_put(p, a->fidx, gen, rp, n, (off_t)h->buf.len, h->mtime);
	*out = h;
	h = NULL; /* transferred */
	r = 0;
out:
	release_creds(rp, n);
	open_release(h);
	return r;
}

int open_file(struct open_pipeline *p, size_t fidx, const struct open_who *who,
	      int flags, struct open_handle **out)
{
	struct open_auth a;
	int r;

	if ((r = open_authorize(p, fidx, who, flags, &a)) < 0)
		return r;
	return open_snapshot(p, &a, out);
}

ssize_t open_serve(const struct open_handle *h, uid_t reader, off_t off,
		   size_t size, const char **data)
{
	*data = NULL;
	/* A descriptor handed to another user reads nothing. */
	if (reader != h->uid)
		return -EACCES;
	if (off < 0 || (size_t)off >= h->buf.len)
		return 0;
	size_t n = h->buf.len - (size_t)off;
	if (n > size)
		n = size;
	*data = h->buf.data + off;
	return (ssize_t)n;
}

void open_release(struct open_handle *h)
{
	if (!h)
		return;
	secbuf_wipe(&h->buf);
	free(h);
}

cJSON *open_timing(struct open_pipeline *p)
{
	cJSON *o = cJSON_CreateObject();
	double n = (double)atomic_load(&p->t_opens);

	cJSON_AddNumberToObject(o, "opens", n);
	if (n > 0) {
		cJSON_AddNumberToObject(
		    o, "identify_ns", (double)atomic_load(&p->t_identify) / n);
		cJSON_AddNumberToObject(o, "policy_ns",
					(double)atomic_load(&p->t_policy) / n);
		cJSON_AddNumberToObject(o, "render_ns",
					(double)atomic_load(&p->t_render) / n);
		cJSON_AddNumberToObject(o, "audit_ns",
					(double)atomic_load(&p->t_audit) / n);
	}
	return o;
}

cJSON *open_status(struct open_pipeline *p)
{
	cJSON *arr = cJSON_CreateArray();

	for (size_t i = 0; i < p->cfg->nfiles; i++) {
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "file", p->cfg->files[i].path);
		cJSON_AddStringToObject(o, "format",
					format_name(p->cfg->files[i].format));
		cJSON_AddNumberToObject(o, "opens",
					(double)atomic_load(&p->opens[i]));
		cJSON_AddNumberToObject(o, "denials",
					(double)atomic_load(&p->denials[i]));
		cJSON_AddItemToArray(arr, o);
	}
	return arr;
}
