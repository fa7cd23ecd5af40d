/* bench/reader: open+read(whole)+close a path in a loop, timing each.
 *
 *   reader [-n ITER] [-w WARMUP] [-m full|open|stat|pread] PATH
 *	single thread; prints n, bytes, median/p99/mean/min/max ns
 *	pread: open once (per thread), then each operation is one
 *	pread(fd, 64 KiB, offset 0): on a direct_io file, one READ request
 *	with nothing else, the cost of one FUSE round trip
 *   reader -t THREADS -d SECONDS [-m ...] PATH
 *	THREADS threads for SECONDS; prints ops_per_s plus latency stats
 *	(of up to 200k samples per thread)
 */
#include "common.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum mode { M_FULL, M_OPEN, M_STAT, M_PREAD };

static const char *path;
static enum mode mode = M_FULL;
static atomic_bool stop;
static atomic_ulong errors;

#define MAX_SAMPLES 200000

struct worker {
	pthread_t t;
	uint64_t *lat;
	size_t n, ops;
	size_t bytes;
};

/* One operation; returns bytes read or -1. */
static long once(void)
{
	static __thread char buf[65536];
	struct stat st;
	long total = 0;
	ssize_t k;
	int fd;

	static __thread int held = -1;

	if (mode == M_STAT)
		return stat(path, &st) == 0 ? 0 : -1;
	if (mode == M_PREAD) {
		if (held < 0 && (held = open(path, O_RDONLY | O_CLOEXEC)) < 0)
			return -1;
		return pread(held, buf, sizeof(buf), 0);
	}
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	if (mode == M_FULL) {
		while ((k = read(fd, buf, sizeof(buf))) > 0)
			total += k;
		if (k < 0)
			total = -1;
	}
	close(fd);
	return total;
}

static void *work(void *arg)
{
	struct worker *w = arg;
	while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
		uint64_t t0 = bench_ns();
		long b = once();
		uint64_t t1 = bench_ns();
		if (b < 0) {
			atomic_fetch_add(&errors, 1);
			continue;
		}
		w->bytes = (size_t)b;
		if (w->n < MAX_SAMPLES)
			w->lat[w->n++] = t1 - t0;
		w->ops++;
	}
	return NULL;
}

int main(int argc, char **argv)
{
	long iters = 10000, warm = 500, threads = 0;
	double secs = 3;
	int o;

	while ((o = getopt(argc, argv, "n:w:m:t:d:")) != -1) {
		switch (o) {
		case 'n':
			iters = atol(optarg);
			break;
		case 'w':
			warm = atol(optarg);
			break;
		case 't':
			threads = atol(optarg);
			break;
		case 'd':
			secs = atof(optarg);
			break;
		case 'm':
			mode = !strcmp(optarg, "open")	  ? M_OPEN
			       : !strcmp(optarg, "stat")  ? M_STAT
			       : !strcmp(optarg, "pread") ? M_PREAD
							  : M_FULL;
			break;
		default:
			fprintf(stderr, "usage: reader [-n N] [-w W] [-m "
					"full|open|stat|pread] [-t T -d S] PATH\n");
			return 2;
		}
	}
	if (optind >= argc) {
		fprintf(stderr, "reader: no path\n");
		return 2;
	}
	path = argv[optind];
	for (long i = 0; i < warm; i++)
		if (once() < 0) {
			fprintf(stderr, "reader: %s: %s\n", path,
				strerror(errno));
			return 1;
		}
	if (threads <= 0) {
		uint64_t *lat = calloc((size_t)iters, sizeof(*lat));
		long bytes = 0;
		for (long i = 0; i < iters; i++) {
			uint64_t t0 = bench_ns();
			bytes = once();
			uint64_t t1 = bench_ns();
			if (bytes < 0) {
				fprintf(stderr, "reader: %s: %s\n", path,
					strerror(errno));
				return 1;
			}
			lat[i] = t1 - t0;
		}
		printf("n=%ld bytes=%ld ", iters, bytes);
		bench_stats(lat, (size_t)iters, stdout);
		printf("\n");
		return 0;
	}
	struct worker *w = calloc((size_t)threads, sizeof(*w));
	for (long i = 0; i < threads; i++) {
		w[i].lat = calloc(MAX_SAMPLES, sizeof(uint64_t));
		pthread_create(&w[i].t, NULL, work, &w[i]);
	}
	uint64_t t0 = bench_ns();
	struct timespec ts = {(time_t)secs, (long)((secs - (long)secs) * 1e9)};
	nanosleep(&ts, NULL);
	atomic_store(&stop, true);
	size_t ops = 0, ns = 0, bytes = 0;
	for (long i = 0; i < threads; i++) {
		pthread_join(w[i].t, NULL);
		ops += w[i].ops;
		ns += w[i].n;
		bytes = w[i].bytes;
	}
	uint64_t el = bench_ns() - t0;
	uint64_t *all = calloc(ns ? ns : 1, sizeof(uint64_t));
	size_t k = 0;
	for (long i = 0; i < threads; i++) {
		memcpy(all + k, w[i].lat, w[i].n * sizeof(uint64_t));
		k += w[i].n;
	}
	printf("threads=%ld ops=%zu errors=%lu seconds=%.3f ops_per_s=%.0f "
	       "bytes=%zu ",
	       threads, ops, atomic_load(&errors), el / 1e9, ops / (el / 1e9),
	       bytes);
	bench_stats(all, k, stdout);
	printf("\n");
	return atomic_load(&errors) ? 1 : 0;
}
