/* bench/burst: N threads open+read+close one aws-process JSON file at the
 * same instant, and check what each got.
 *
 *   burst -n N [-a EPOCH] PATH
 *
 * The threads are created first and released together by a barrier, at
 * realtime EPOCH (seconds, fractional) if given.  Per reader: latency, the
 * AccessKeyId and Expiration it got, and the realtime when its read ended;
 * a reader whose Expiration is not after that time got an expired byte.
 * Prints one summary line.
 */
#include "common.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <string.h>
#include <unistd.h>

struct res {
	uint64_t lat;
	double end; /* realtime */
	int err;
	char ak[32];
	time_t exp;
};

static const char *path;
static pthread_barrier_t bar;

static double real_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int field(const char *buf, const char *name, char *out, size_t len)
{
	char pat[64];
	snprintf(pat, sizeof(pat), "\"%s\": \"", name);
	const char *p = strstr(buf, pat);
	if (!p) {
		snprintf(pat, sizeof(pat), "\"%s\":\"", name);
		if (!(p = strstr(buf, pat)))
			return -1;
	}
	p += strlen(pat);
	size_t n = strcspn(p, "\"");
	if (n >= len)
		return -1;
	memcpy(out, p, n);
	out[n] = 0;
	return 0;
}

static void *reader(void *arg)
{
	struct res *r = arg;
	char buf[8192], t[40];
	size_t got = 0;
	ssize_t k;

	pthread_barrier_wait(&bar);
	uint64_t t0 = bench_ns();
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		r->err = errno;
		r->lat = bench_ns() - t0;
		return NULL;
	}
	while ((k = read(fd, buf + got, sizeof(buf) - 1 - got)) > 0)
		got += (size_t)k;
	if (k < 0)
		r->err = errno;
	close(fd);
	r->lat = bench_ns() - t0;
	r->end = real_now();
	buf[got] = 0;
	struct tm tm = {0};
	if (field(buf, "AccessKeyId", r->ak, sizeof(r->ak)) < 0 ||
	    field(buf, "Expiration", t, sizeof(t)) < 0 ||
	    !strptime(t, "%Y-%m-%dT%H:%M:%S", &tm)) {
		if (!r->err)
			r->err = EBADMSG;
		return NULL;
	}
	r->exp = timegm(&tm);
	return NULL;
}

int main(int argc, char **argv)
{
	double at = 0;
	long n = 64;
	int o;

	while ((o = getopt(argc, argv, "n:a:")) != -1) {
		if (o == 'n')
			n = atol(optarg);
		else if (o == 'a')
			at = atof(optarg);
		else
			return 2;
	}
	if (optind >= argc)
		return 2;
	path = argv[optind];
	struct res *r = calloc((size_t)n, sizeof(*r));
	pthread_t *t = calloc((size_t)n, sizeof(*t));
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 128 * 1024);
	pthread_barrier_init(&bar, NULL, (unsigned)n + 1);
	for (long i = 0; i < n; i++)
		if (pthread_create(&t[i], &attr, reader, &r[i])) {
			fprintf(stderr, "burst: cannot create thread %ld\n", i);
			return 1;
		}
	if (at > 0) {
		double d = at - real_now();
		if (d > 0) {
			struct timespec ts = {(time_t)d,
					      (long)((d - (long)d) * 1e9)};
			nanosleep(&ts, NULL);
		}
	}
	double start = real_now();
	pthread_barrier_wait(&bar);
	for (long i = 0; i < n; i++)
		pthread_join(t[i], NULL);

	uint64_t *lat = calloc((size_t)n, sizeof(*lat));
	long ok = 0, errs = 0, expired = 0, nkeys = 0;
	double margin = 1e18;
	char keys[16][32];
	long kcount[16] = {0};
	for (long i = 0; i < n; i++) {
		lat[i] = r[i].lat;
		if (r[i].err) {
			errs++;
			continue;
		}
		ok++;
		if ((double)r[i].exp <= r[i].end)
			expired++;
		if ((double)r[i].exp - r[i].end < margin)
			margin = (double)r[i].exp - r[i].end;
		long k;
		for (k = 0; k < nkeys; k++)
			if (!strcmp(keys[k], r[i].ak))
				break;
		if (k == nkeys && nkeys < 16)
			snprintf(keys[nkeys++], 32, "%s", r[i].ak);
		if (k < 16)
			kcount[k]++;
	}
	int first_err = 0;
	for (long i = 0; i < n && !first_err; i++)
		first_err = r[i].err;
	printf("n=%ld start=%.3f ok=%ld errors=%ld%s%s expired_served=%ld "
	       "min_margin_s=%.3f keys=",
	       n, start, ok, errs, first_err ? " first_error=" : "",
	       first_err ? strerror(first_err) : "", expired,
	       ok ? margin : 0.0);
	for (long k = 0; k < nkeys; k++)
		printf("%s%s:%ld", k ? "," : "", keys[k], kcount[k]);
	printf(" ");
	bench_stats(lat, (size_t)n, stdout);
	printf("\n");
	return 0;
}
