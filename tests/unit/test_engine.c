/* engine: single flight, serve-while-refreshing, failures, deadlines. */
#include "providers/registry.h"
#include "tests/tap.h"
#include "core/config.h"
#include "core/cred.h"
#include "engine/engine.h"
#include "core/provider.h"
#include "core/secmem.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>
#include <unistd.h>

static atomic_int calls;
static atomic_int delay_ms = 200;
static atomic_int fail;
static atomic_int lifetime = 3600;

static int fake_fetch(const struct provider_req *req, struct cred **out,
		      struct error *e)
{
	atomic_fetch_add(&calls, 1);
	usleep((useconds_t)atomic_load(&delay_ms) * 1000);
	if (atomic_load(&fail)) {
		error_set(e, EIO,
			  "Fake: ServiceUnavailable: down for the test");
		return -EIO;
	}
	struct cred *c = cred_new();
	char id[32];
	snprintf(id, sizeof(id), "ASIA%08d", atomic_load(&calls));
	if (cred_set(c, "access_key_id", id) < 0 ||
	    cred_set(c, "secret_access_key", "s") < 0)
		abort();
	cred_set_obtained(c, time(NULL));
	cred_set_expiration(c, time(NULL) + atomic_load(&lifetime));
	*out = c;
	return 0;
}

static const struct provider_ops fake = {.name = "exec", .fetch = fake_fetch};

static struct engine *eng;
static atomic_int errors;

static void *reader(void *arg)
{
	struct cred *c = NULL;
	char why[256];
	if (engine_get(eng, 0, 5000, &c, why, sizeof(why)) < 0 || !c)
		atomic_fetch_add(&errors, 1);
	cred_unref(c);
	return NULL;
}

static long ms_since(struct timespec *t0)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (t.tv_sec - t0->tv_sec) * 1000 +
	       (t.tv_nsec - t0->tv_nsec) / 1000000;
}

int main(void)
{
	char path[] = "/tmp/credfs-test-engine-XXXXXX";
	int fd = mkstemp(path);
	const char *text = "[credfs]\nrefresh_before = 15m\n"
			   "[profile p]\nprovider = exec\ncommand = true\n";
	struct config *cfg = NULL;
	struct diag d = {0};
	struct cred *c = NULL;
	char why[256];
	struct timespec t0;

	if (write(fd, text, strlen(text)) < 0)
		return 1;
	close(fd);
	if (config_load(path, providers_all, &cfg, &d) < 0)
		return 1;
	unlink(path);
	cfg->profiles[0].ops = &fake;
	secmem_init_cjson();
	if (engine_new(cfg, NULL, NULL, &eng) < 0)
		return 1;

	/* 500 concurrent readers of an empty profile: one provider call. */
	enum { N = 500 };
	static pthread_t th[N];
	for (int i = 0; i < N; i++)
		pthread_create(&th[i], NULL, reader, NULL);
	for (int i = 0; i < N; i++)
		pthread_join(th[i], NULL);
	ok(atomic_load(&calls) == 1,
	   "500 concurrent opens: %d provider call(s)", atomic_load(&calls));
	ok(atomic_load(&errors) == 0, "no reader saw an error (%d)",
	   atomic_load(&errors));

	/* Inside the refresh window: served at once, refreshed once. */
	ok(engine_revoke(eng, 0, why, sizeof(why)) == 0, "revoke");
	atomic_store(&lifetime, 600); /* < 2 x 15m: due at half life */
	ok(engine_get(eng, 0, 5000, &c, why, sizeof(why)) == 0, "fetch 600s");
	cred_unref(c);
	int before = atomic_load(&calls);
	/* make it due: a credential with 200 s left of 600 */
	atomic_store(&lifetime, 3600);
	ok(engine_revoke(eng, 0, why, sizeof(why)) == 0, "revoke again");
	atomic_store(&lifetime, 8); /* half life 4 s: due in 4 s */
	ok(engine_get(eng, 0, 5000, &c, why, sizeof(why)) == 0, "fetch 8s");
	char id1[32];
	snprintf(id1, sizeof(id1), "%s", cred_get(c, "access_key_id"));
	cred_unref(c);
	before = atomic_load(&calls);
	atomic_store(&lifetime, 3600);
	sleep(5); /* now inside the window, still valid for ~3 s */
	atomic_store(&delay_ms, 1000);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	errors = 0;
	for (int i = 0; i < 64; i++)
		pthread_create(&th[i], NULL, reader, NULL);
	for (int i = 0; i < 64; i++)
		pthread_join(th[i], NULL);
	long waited = ms_since(&t0);
	ok(waited < 500, "64 readers in the window did not wait (%ld ms)",
	   waited);
	ok(atomic_load(&errors) == 0, "and saw no error");
	usleep(1300 * 1000);
	ok(atomic_load(&calls) == before + 1,
	   "exactly one refresh for them (%d)", atomic_load(&calls) - before);
	ok(engine_get(eng, 0, 100, &c, why, sizeof(why)) == 0 &&
	       strcmp(cred_get(c, "access_key_id"), id1) != 0,
	   "the refreshed credential is served after");
	cred_unref(c);

	/* A failing provider never costs a valid credential. */
	ok(engine_revoke(eng, 0, why, sizeof(why)) == 0, "revoke");
	atomic_store(&delay_ms, 0);
	atomic_store(&lifetime, 4);
	ok(engine_get(eng, 0, 5000, &c, why, sizeof(why)) == 0, "fetch 4s");
	cred_unref(c);
	atomic_store(&fail, 1);
	usleep(2500 * 1000); /* due (half life 2 s), still valid */
	ok(engine_get(eng, 0, 1000, &c, why, sizeof(why)) == 0 && c,
	   "valid credential served while its refresh fails");
	cred_unref(c);
	usleep(200 * 1000);
	cJSON *st = engine_status(eng);
	char *s = cJSON_PrintUnformatted(st);
	ok(strstr(s, "ServiceUnavailable") != NULL,
	   "status shows the provider error: %s", s);
	cJSON_free(s);
	cJSON_Delete(st);
	sleep(2); /* expired now */
	int r = engine_get(eng, 0, 1000, &c, why, sizeof(why));
	ok(r < 0 && c == NULL, "an expired credential is never served");
	ok(strstr(why, "ServiceUnavailable") != NULL, "why: %s", why);
	struct error er = {0};
	r = engine_get_e(eng, 0, 1000, &c, &er);
	ok(r < 0 && c == NULL && er.code == -r && er.kind == ERROR_PROVIDER &&
	       !strcmp(er.msg, "Fake: ServiceUnavailable: down for the test"),
	   "engine_get_e: code, kind, the provider's message alone (%s, "
	   "retry in %d s)",
	   er.msg, er.retry_in);

	/* A slow provider delays no reader past the timeout. */
	atomic_store(&fail, 0);
	atomic_store(&delay_ms, 1500);
	ok(engine_revoke(eng, 0, why, sizeof(why)) == 0, "revoke");
	clock_gettime(CLOCK_MONOTONIC, &t0);
	r = engine_get(eng, 0, 500, &c, why, sizeof(why));
	waited = ms_since(&t0);
	ok(r == -ETIMEDOUT, "slow provider: timed out (%d)", r);
	ok(waited >= 450 && waited < 1000, "after %ld ms (timeout 500)",
	   waited);
	usleep(1700 * 1000);
	ok(engine_get(eng, 0, 100, &c, why, sizeof(why)) == 0,
	   "the slow refresh lands for later readers");
	cred_unref(c);

	engine_free(eng);
	config_free(cfg);
	diag_free(&d);

	/* A failing source: the dependent profile's error names the source
	 * and its cause, without the source's retry time (kept apart in
	 * retry_in, never written into a message and stripped again). */
	char path2[] = "/tmp/credfs-test-engine-XXXXXX";
	const char *text2 = "[profile a]\nprovider = exec\ncommand = true\n"
			    "[profile b]\nprovider = aws-assume-role\n"
			    "role_arn = arn:aws:iam::1:role/r\nsource = a\n";
	fd = mkstemp(path2);
	if (fd < 0 || write(fd, text2, strlen(text2)) < 0)
		return 1;
	close(fd);
	if (config_load(path2, providers_all, &cfg, &d) < 0)
		return 1;
	unlink(path2);
	cfg->profiles[0].ops = &fake;
	if (engine_new(cfg, NULL, NULL, &eng) < 0)
		return 1;
	atomic_store(&fail, 1);
	atomic_store(&delay_ms, 10);
	struct error se = {0};
	r = engine_get_e(eng, 0, 2000, &c, &se);
	ok(r < 0 && se.retry_in > 0, "source a fails, retry in %d s",
	   se.retry_in);
	r = engine_get_e(eng, 1, 2000, &c, &se);
	ok(r < 0 && !strcmp(se.msg, "source a: Fake: ServiceUnavailable: "
				    "down for the test"),
	   "b: %s", se.msg);
	engine_free(eng);
	config_free(cfg);
	diag_free(&d);
	return tap_done();
}
