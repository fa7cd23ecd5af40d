/* bench/common.h: timing and statistics shared by the bench programs. */
#ifndef BENCH_COMMON_H
#define BENCH_COMMON_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static inline uint64_t bench_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int bench_cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* Sorts v and prints "median_ns=.. p99_ns=.. mean_ns=.. min_ns=.. max_ns=..".
 */
static inline void bench_stats(uint64_t *v, size_t n, FILE *out)
{
	long double sum = 0;
	if (!n) {
		fprintf(out,
			"median_ns=0 p99_ns=0 mean_ns=0 min_ns=0 max_ns=0");
		return;
	}
	qsort(v, n, sizeof(*v), bench_cmp_u64);
	for (size_t i = 0; i < n; i++)
		sum += v[i];
	size_t p99 = (n * 99) / 100;
	if (p99 >= n)
		p99 = n - 1;
	fprintf(
	    out,
	    "median_ns=%llu p99_ns=%llu mean_ns=%.0Lf min_ns=%llu max_ns=%llu",
	    (unsigned long long)v[n / 2], (unsigned long long)v[p99], sum / n,
	    (unsigned long long)v[0], (unsigned long long)v[n - 1]);
}

/* "-n ITERS -w WARMUP" before the positional arguments; 0, or 2 on a bad
 * option or none left. */
static inline int bench_opts(int argc, char **argv, long *iters, long *warm)
{
	int o;
	while ((o = getopt(argc, argv, "+n:w:")) != -1) {
		if (o == 'n')
			*iters = atol(optarg);
		else if (o == 'w')
			*warm = atol(optarg);
		else
			return 2;
	}
	return optind < argc ? 0 : 2;
}

/* Runs op warm times untimed, then iters times timed; prints
 * "n=.. bytes=.. <stats>".  op returns the bytes it got, < 0 on failure.
 * Returns the exit status. */
static inline int bench_loop(long warm, long iters, long (*op)(void *),
			     void *arg, const char *what)
{
	long bytes = 0;
	for (long i = 0; i < warm; i++)
		if (op(arg) < 0) {
			fprintf(stderr, "%s failed\n", what);
			return 1;
		}
	uint64_t *lat = calloc((size_t)iters, sizeof(*lat));
	if (!lat)
		return 1;
	for (long i = 0; i < iters; i++) {
		uint64_t t0 = bench_ns();
		bytes = op(arg);
		lat[i] = bench_ns() - t0;
		if (bytes < 0) {
			fprintf(stderr, "%s failed\n", what);
			return 1;
		}
	}
	printf("n=%ld bytes=%ld ", iters, bytes);
	bench_stats(lat, (size_t)iters, stdout);
	printf("\n");
	free(lat);
	return 0;
}

#endif
