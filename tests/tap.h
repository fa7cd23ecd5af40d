/* tests/tap.h: the one TAP (Test Anything Protocol) header of the C tests.
 *
 *   ok(cond, fmt, ...)         one test point; on failure, where and what
 *   tap_ok(cond, fmt, ...)     the same
 *   is_str(got, want, fmt, ...)  strings equal; on failure both shown
 *   tap_str(got, want, what)   the same, returning whether they were
 *   diag(fmt, ...)             a "# " comment line
 *   diag_block(text)           multi-line text as comment lines
 *   tap_skip(why)              a skipped point (a failure under CI=true)
 *   tap_skip_all(why)          the whole plan skipped (a failure under
 *                              CI=true); return its value from main
 *   tap_done()                 the plan; return its value from main
 *
 * tap_n (points so far) and tap_failed (failures so far) may be read, and
 * tap_n incremented by a test that prints its own point. */
#ifndef CREDFS_TESTS_TAP_H
#define CREDFS_TESTS_TAP_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int tap_n, tap_failed;

__attribute__((format(printf, 5, 6), unused)) static int
tap_ok_at(int cond, const char *file, int line, const char *expr,
	  const char *fmt, ...)
{
	va_list ap;

	printf("%sok %d - ", cond ? "" : "not ", ++tap_n);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	if (!cond) {
		tap_failed++;
		printf("#   failed at %s:%d: %s\n", file, line, expr);
	}
	fflush(stdout);
	return cond;
}

#define ok(cond, ...)                                                          \
	tap_ok_at(!!(cond), __FILE__, __LINE__, #cond, __VA_ARGS__)
#define tap_ok(cond, ...)                                                      \
	tap_ok_at(!!(cond), __FILE__, __LINE__, #cond, __VA_ARGS__)

__attribute__((unused)) static int tap_str_at(const char *got, const char *want,
					      int cond)
{
	if (!cond)
		printf("#   got:  '%s'\n#   want: '%s'\n", got ? got : "(null)",
		       want ? want : "(null)");
	return cond;
}

#define TAP_STREQ_(g, w) ((g) && (w) && strcmp((g), (w)) == 0)
#define is_str(got, want, ...)                                                 \
	do {                                                                   \
		const char *tap_g_ = (got), *tap_w_ = (want);                  \
		tap_str_at(tap_g_, tap_w_,                                     \
			   ok(TAP_STREQ_(tap_g_, tap_w_), __VA_ARGS__));       \
	} while (0)
#define tap_str(got, want, what)                                               \
	({                                                                     \
		const char *tap_g_ = (got), *tap_w_ = (want);                  \
		tap_str_at(tap_g_, tap_w_,                                     \
			   ok(TAP_STREQ_(tap_g_, tap_w_), "%s", (what)));      \
	})

#define diag(...)                                                              \
	do {                                                                   \
		printf("# ");                                                  \
		printf(__VA_ARGS__);                                           \
		printf("\n");                                                  \
		fflush(stdout);                                                \
	} while (0)

/* Multi-line text as TAP comments. */
__attribute__((unused)) static void diag_block(const char *s)
{
	while (s && *s) {
		size_t n = strcspn(s, "\n");

		printf("# %.*s\n", (int)n, s);
		s += n + (s[n] == '\n');
	}
	fflush(stdout);
}

static int tap_ci(void)
{
	const char *ci = getenv("CI");

	return ci && strcmp(ci, "true") == 0;
}

/* A prerequisite is missing: a skipped point, a failure under CI=true. */
__attribute__((unused)) static void tap_skip(const char *why)
{
	if (tap_ci()) {
		printf("not ok %d - %s (required under CI=true)\n", ++tap_n,
		       why);
		tap_failed++;
	} else {
		printf("ok %d # SKIP %s\n", ++tap_n, why);
	}
	fflush(stdout);
}

/* Nothing can run: the whole plan skipped, a failure under CI=true. */
__attribute__((unused)) static int tap_skip_all(const char *why)
{
	if (tap_ci()) {
		printf("not ok 1 - prerequisite missing under CI: %s\n1..1\n",
		       why);
		return 1;
	}
	printf("1..0 # SKIP %s\n", why);
	return 0;
}

__attribute__((unused)) static int tap_done(void)
{
	printf("1..%d\n", tap_n);
	if (tap_failed)
		printf("# %d of %d failed\n", tap_failed, tap_n);
	fflush(stdout);
	return tap_failed ? 1 : 0;
}

#endif
