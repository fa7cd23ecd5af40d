/* Minimal TAP for the unit tests. */
#ifndef CREDFS_TEST_TAP_H
#define CREDFS_TEST_TAP_H
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int tap_n, tap_failed;

#define ok(cond, ...)                                                          \
	do {                                                                   \
		int ok_ = !!(cond);                                            \
		printf("%sok %d - ", ok_ ? "" : "not ", ++tap_n);              \
		printf(__VA_ARGS__);                                           \
		printf("\n");                                                  \
		if (!ok_) {                                                    \
			tap_failed++;                                          \
			printf("#   failed at %s:%d: %s\n", __FILE__,          \
			       __LINE__, #cond);                               \
		}                                                              \
		fflush(stdout);                                                \
	} while (0)

#define is_str(a, b, ...)                                                      \
	do {                                                                   \
		const char *a_ = (a), *b_ = (b);                               \
		ok(a_ &&b_ && !strcmp(a_, b_), __VA_ARGS__);                   \
		if (!(a_ && b_ && !strcmp(a_, b_)))                            \
			printf("#   got '%s'\n#   want '%s'\n",                \
			       a_ ? a_ : "(null)", b_ ? b_ : "(null)");        \
	} while (0)

static inline int tap_done(void)
{
	printf("1..%d\n", tap_n);
	return tap_failed ? 1 : 0;
}
#endif
