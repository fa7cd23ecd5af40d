/* util: small helpers every layer uses, each defined once here.
 *
 * Clocks: util_mono_* for intervals and deadlines (never the wall clock,
 * which jumps); time() / util_time_* for what is shown or stored.
 */
#ifndef CREDFS_UTIL_H
#define CREDFS_UTIL_H

#include <stddef.h>
#include <sys/types.h>
#include <time.h>

long util_mono_ms(void);
unsigned long long util_mono_ns(void);

/* Lower-case hex of len bytes into out (2 * len + 1 bytes). */
void util_hex(const void *data, size_t len, char *out);
/* Value of one hex digit, or -1. */
int util_unhex_digit(int c);
/* Copies s (NULL reads as "") into out[outlen] for a terminal: valid UTF-8
 * that shows as text is kept; C0 and C1 controls, DEL, invalid or cut
 * UTF-8, line/paragraph separators and bidirectional overrides each become
 * '?'.  Never cuts a character in two. */
void util_term_safe(const char *s, char *out, size_t outlen);

/* RFC 3339 UTC "2026-11-28T22:38:29Z" into buf (at least 32 bytes). */
void util_time_format(time_t t, char *buf, size_t len);
/* The same with milliseconds: "2026-11-28T22:38:29.123Z". */
void util_time_format_ms(const struct timespec *ts, char out[static 32]);
/* Parses RFC 3339 / ISO 8601 with Z, +hh:mm, or fractional seconds. */
int util_time_parse(const char *s, time_t *out);

/* Parses "90s", "15m", "1h", "2d", "1h30m", and bare seconds "900";
 * -EINVAL if not a duration. */
int util_duration_parse(const char *s, int *seconds);
/* A span for people, two units at most: "42s", "42m", "1h 5m", "2d 3h"
 * (the sign of secs is dropped). */
void util_duration_format(long secs, char *buf, size_t len);

/* mkdir -p with mode for every directory it creates. */
int util_mkdir_p(const char *path, mode_t mode);

/* Reads fd to its end into NUL-terminated secret memory (secmem_free it);
 * -EFBIG past max bytes. */
int util_read_fd_secret(int fd, size_t max, char **out, size_t *len)
    __attribute__((warn_unused_result));

/* A number from outside (JSON) as an integer in [lo, hi]: clamped, NaN
 * gives lo.  Casting a double out of range is undefined behaviour. */
long long util_clamp_ll(double d, long long lo, long long hi);
/* 9999-12-31T23:59:59Z: the last time RFC 3339 can write. */
#define UTIL_TIME_MAX 253402300799LL

#endif
