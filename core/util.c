/* util: the small helpers every layer uses, each defined once. */
#include "core/util.h"
#include "core/secmem.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

long util_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

unsigned long long util_mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (unsigned long long)ts.tv_sec * 1000000000ull +
	       (unsigned long long)ts.tv_nsec;
}

void util_hex(const void *data, size_t len, char *out)
{
	static const char digits[] = "0123456789abcdef";
	const unsigned char *p = data;

	for (size_t i = 0; i < len; i++) {
		out[2 * i] = digits[p[i] >> 4];
		out[2 * i + 1] = digits[p[i] & 15];
	}
	out[2 * len] = '\0';
}

int util_unhex_digit(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

void util_time_format_ms(const struct timespec *ts, char out[static 32])
{
	struct tm tm;
	size_t n;

	gmtime_r(&ts->tv_sec, &tm);
	n = strftime(out, 32, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out + n, 32 - n, ".%03uZ",
		 (unsigned)(ts->tv_nsec / 1000000) % 1000u);
}

void util_time_format(time_t t, char *buf, size_t len)
{
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

int util_time_parse(const char *s, time_t *out)
{
	struct tm tm = {0};
	const char *p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
	if (!p)
		p = strptime(s, "%Y-%m-%d %H:%M:%S", &tm);
	if (!p)
		return -EINVAL;
	if (*p == '.') {
		p++;
		while (*p >= '0' && *p <= '9')
			p++;
	}
	long off = 0;
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		int sign = *p == '-' ? -1 : 1;
		int hh, mm;
		if (sscanf(p + 1, "%2d:%2d", &hh, &mm) != 2 &&
		    sscanf(p + 1, "%2d%2d", &hh, &mm) != 2)
			return -EINVAL;
		off = sign * (hh * 3600L + mm * 60L);
		p += strlen(p);
	} else if (*p != 0) {
		return -EINVAL;
	}
	if (*p != 0)
		return -EINVAL;
	time_t t = timegm(&tm);
	if (t == (time_t)-1)
		return -EINVAL;
	*out = t - off;
	return 0;
}

int util_duration_parse(const char *s, int *seconds)
{
	char *end;
	long total = 0;

	if (!s || !*s)
		return -EINVAL;
	/* Bare seconds ("900"), as `sleep` and most tools take them. */
	if (strspn(s, "0123456789") == strlen(s)) {
		if (strlen(s) > 9 || (total = strtol(s, NULL, 10)) > 366L * 86400)
			return -EINVAL;
		*seconds = (int)total;
		return 0;
	}
	while (*s) {
		if (!isdigit((unsigned char)*s))
			return -EINVAL;
		errno = 0;
		long v = strtol(s, &end, 10);
		if (errno || v < 0 || v > 100000000)
			return -EINVAL;
		long mul;
		switch (*end) {
		case 's':
			mul = 1;
			break;
		case 'm':
			mul = 60;
			break;
		case 'h':
			mul = 3600;
			break;
		case 'd':
			mul = 86400;
			break;
		default:
			return -EINVAL;
		}
		total += v * mul;
		if (total > 366L * 86400)
			return -EINVAL;
		s = end + 1;
	}
	*seconds = (int)total;
	return 0;
}

void util_duration_format(long secs, char *buf, size_t len)
{
	if (secs < 0)
		secs = -secs;
	if (secs < 60)
		snprintf(buf, len, "%lds", secs);
	else if (secs < 3600)
		snprintf(buf, len, "%ldm", secs / 60);
	else if (secs < 86400 && secs % 3600 >= 60)
		snprintf(buf, len, "%ldh %ldm", secs / 3600, secs % 3600 / 60);
	else if (secs < 86400)
		snprintf(buf, len, "%ldh", secs / 3600);
	else
		snprintf(buf, len, "%ldd %ldh", secs / 86400,
			 secs % 86400 / 3600);
}

int util_mkdir_p(const char *path, mode_t mode)
{
	char tmp[PATH_MAX], *slash;
	int r;

	if (mkdir(path, mode) == 0 || errno == EEXIST)
		return 0;
	if (errno != ENOENT)
		return -errno;
	if (snprintf(tmp, sizeof(tmp), "%s", path) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	slash = strrchr(tmp, '/');
	if (!slash || slash == tmp)
		return -ENOENT;
	*slash = 0;
	if ((r = util_mkdir_p(tmp, mode)) < 0)
		return r;
	if (mkdir(path, mode) == 0 || errno == EEXIST)
		return 0;
	return -errno;
}

int util_read_fd_secret(int fd, size_t max, char **out, size_t *len)
{
	size_t cap = 4096, n = 0;
	char *buf = secmem_alloc(cap), *nb;
	ssize_t k;

	*out = NULL;
	if (len)
		*len = 0;
	if (!buf)
		return -ENOMEM;
	for (;;) {
		if (n + 1 >= cap) {
			/* room for max + 1 bytes and the NUL: a read that
			 * fills it proves the input is past max */
			if (cap >= max + 2) {
				secmem_free(buf);
				return -EFBIG;
			}
			size_t ncap = cap * 2 > max + 2 ? max + 2 : cap * 2;
			if (!(nb = secmem_alloc(ncap))) {
				secmem_free(buf);
				return -ENOMEM;
			}
			memcpy(nb, buf, n);
			secmem_free(buf);
			buf = nb;
			cap = ncap;
		}
		k = read(fd, buf + n, cap - 1 - n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			int r = -errno;
			secmem_free(buf);
			return r;
		}
		if (k == 0)
			break;
		n += (size_t)k;
	}
	buf[n] = '\0';
	*out = buf;
	if (len)
		*len = n;
	return 0;
}

long long util_clamp_ll(double d, long long lo, long long hi)
{
	if (!(d > (double)lo))
		return lo;
	if (d >= (double)hi)
		return hi;
	return (long long)d;
}
