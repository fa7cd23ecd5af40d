/* engine_int: the engine's state, shared by engine.c (refresh, cache,
 * revoke) and status.c (what `credfs status` shows).  Not for other
 * modules: they use engine.h. */
#ifndef CREDFS_ENGINE_INT_H
#define CREDFS_ENGINE_INT_H

#include "core/error.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <time.h>

struct cred;
struct config;
struct store;
struct audit;

/* Wall-clock times (time()) are what status shows and what credential
 * expiry is compared with; intervals and deadlines (backoff, waits,
 * activity) use the monotonic clock, which does not jump. */
struct pstate {
	pthread_mutex_t mu;
	pthread_cond_t cv; /* on CLOCK_MONOTONIC */
	struct cred *cur;
	bool refreshing;
	long refresh_started; /* util_mono_ms */
	bool cache_checked;
	bool ever_had;
	unsigned failures;
	time_t last_refresh; /* wall, for status */
	long next_attempt;   /* util_mono_ms; 0: now */
	long last_read;	     /* util_mono_ms; 0: never */
	unsigned long fetches;
	unsigned long round; /* completed refresh attempts */
	struct error last;   /* last failure; code 0 after a success */
	char *mfa_code;	     /* secmem, one use */
	char integrity[512]; /* last rejected sealed cache file, sticky */
	bool reissue;	     /* the lease had its last renewal */
	/* a lease from the sealed cache, renewed before it is served */
	struct cred *pending;
};

struct engine {
	const struct config *cfg;
	struct store *store;
	struct audit *audit;
	size_t n;
	struct pstate *p;
	pthread_t bg;
	bool bg_started;
	atomic_bool stop;
	atomic_ulong generation;
	pthread_mutex_t stop_mu;
	pthread_cond_t stop_cv;
};

bool engine_cred_valid(const struct cred *c, time_t now);
bool engine_cred_due(const struct engine *e, const struct cred *c, time_t now);
/* With p->mu held: the sealed cache's copy, once per profile. */
void engine_load_cache_locked(struct engine *e, int idx);

#endif
