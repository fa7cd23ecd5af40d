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

/* n decimal digits exactly, as RFC 3339 writes every field. */
static int time_digits(const char **p, int n)
{
	int v = 0;

	for (int i = 0; i < n; i++, (*p)++) {
		if (**p < '0' || **p > '9')
			return -1;
		v = v * 10 + (**p - '0');
	}
	return v;
}

/* RFC 3339 date-time: YYYY-MM-DD, 'T' (or a space, as RFC 3339 allows and
 * Python's str() writes), hh:mm:ss, an optional fraction, and Z or +hh:mm
 * (+hhmm too, as ISO 8601's basic offset); no zone means UTC. Every field
 * is range-checked, the date must exist, and the instant must lie between
 * 1970 and 9999 so that util_time_format writes it back. */
int util_time_parse(const char *s, time_t *out)
{
	struct tm tm = {0}, back;
	const char *p = s;
	int year, mon, day, hh, mi, ss;
	long off = 0;
	time_t t;

	if ((year = time_digits(&p, 4)) < 0 || *p++ != '-' ||
	    (mon = time_digits(&p, 2)) < 0 || *p++ != '-' ||
	    (day = time_digits(&p, 2)) < 0)
		return -EINVAL;
	if (*p != 'T' && *p != 't' && *p != ' ')
		return -EINVAL;
	p++;
	if ((hh = time_digits(&p, 2)) < 0 || *p++ != ':' ||
	    (mi = time_digits(&p, 2)) < 0 || *p++ != ':' ||
	    (ss = time_digits(&p, 2)) < 0)
		return -EINVAL;
	if (mon < 1 || mon > 12 || day < 1 || day > 31 || hh > 23 ||
	    mi > 59 || ss > 60)
		return -EINVAL;
	if (*p == '.') {
		if (*++p < '0' || *p > '9')
			return -EINVAL;
		while (*p >= '0' && *p <= '9')
			p++;
	}
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		int sign = *p++ == '-' ? -1 : 1, oh, om;

		if ((oh = time_digits(&p, 2)) < 0)
			return -EINVAL;
		if (*p == ':')
			p++;
		if ((om = time_digits(&p, 2)) < 0 || oh > 23 || om > 59)
			return -EINVAL;
		off = sign * (oh * 3600L + om * 60L);
	}
	if (*p != 0)
		return -EINVAL;
	tm.tm_year = year - 1900;
	tm.tm_mon = mon - 1;
	tm.tm_mday = day;
	tm.tm_hour = hh;
	tm.tm_min = mi;
	tm.tm_sec = ss == 60 ? 59 : ss; /* a leap second is the next one */
	t = timegm(&tm);
	/* timegm rolls 02-30 over into March: the date must come back. */
	if (!gmtime_r(&t, &back) || back.tm_mday != day ||
	    back.tm_mon != mon - 1)
		return -EINVAL;
	t += (ss == 60) - off;
	if (t < 0 || t > 253402300799) /* 9999-12-31T23:59:59Z */
		return -EINVAL;
	*out = t;
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

/* The UTF-8 character at p: its length (1-4) if it is well formed and
 * shows as text, minus its length if it is well formed but does not
 * (a control, a separator, a bidi control), 0 if it is malformed. */
static int term_char(const unsigned char *p)
{
	unsigned char c = p[0];
	int n;

	if (c >= 0x20 && c < 0x7f)
		return 1;
	if (c < 0x20 || c == 0x7f)
		return -1;
	if (c >= 0xc2 && c <= 0xdf)
		n = 2;
	else if (c >= 0xe0 && c <= 0xef)
		n = 3;
	else if (c >= 0xf0 && c <= 0xf4)
		n = 4;
	else
		return 0; /* a continuation byte, C0/C1/F5.. leads */
	for (int i = 1; i < n; i++)
		if ((p[i] & 0xc0) != 0x80)
			return 0;
	if ((c == 0xe0 && p[1] < 0xa0) || (c == 0xed && p[1] > 0x9f) ||
	    (c == 0xf0 && p[1] < 0x90) || (c == 0xf4 && p[1] > 0x8f))
		return 0; /* overlong, surrogate, beyond U+10FFFF */
	if (c == 0xc2 && p[1] <= 0x9f)
		return -n; /* C1 controls U+0080..U+009F */
	if (c == 0xe2 && p[1] == 0x80 && p[2] >= 0xa8 && p[2] <= 0xae)
		return -n; /* U+2028..U+202E: separators, bidi embeddings */
	if (c == 0xe2 && p[1] == 0x81 && p[2] >= 0xa6 && p[2] <= 0xa9)
		return -n; /* U+2066..U+2069: bidi isolates */
	return n;
}

void util_term_safe(const char *s, char *out, size_t outlen)
{
	const unsigned char *p = (const unsigned char *)(s ? s : "");
	size_t o = 0;

	if (!outlen)
		return;
	while (*p) {
		int n = term_char(p);
		size_t w = n > 0 ? (size_t)n : 1;
		if (o + w >= outlen)
			break;
		if (n > 0)
			memcpy(out + o, p, w);
		else
			out[o] = '?';
		o += w;
		p += n ? (size_t)(n > 0 ? n : -n) : 1;
	}
	out[o] = '\0';
}
