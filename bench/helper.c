/* bench/helper: a minimal static credential_process helper.
 *
 *   helper [-p NAME] [-l LIFE_SECONDS] [-s SLEEP_MS] [-c COUNT_FILE]
 *
 * Prints credential_process JSON (about 400 bytes).  Without -l the
 * Expiration is a fixed far date (static JSON).  -l: Expiration = now +
 * LIFE, and the AccessKeyId carries the pid so each run's key is distinct.
 * -s sleeps first (a slow provider); -c appends one line per run to a file
 * (invocation counting).
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define TOKEN                                                                  \
	"IQoJb3JpZ2luX2VjEBenchTokenAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" \
	"AA"                                                                   \
	"BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB" \
	"BBBB"                                                                 \
	"CCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCC" \
	"CCCC"                                                                 \
	"DDDDDDDDDDDDDDDDDDDD"

int main(int argc, char **argv)
{
	const char *name = "default", *count = NULL;
	long life = 0, sleep_ms = 0;
	char ak[32], exp[32], out[1024];
	int o;

	while ((o = getopt(argc, argv, "p:l:s:c:")) != -1) {
		switch (o) {
		case 'p':
			name = optarg;
			break;
		case 'l':
			life = atol(optarg);
			break;
		case 's':
			sleep_ms = atol(optarg);
			break;
		case 'c':
			count = optarg;
			break;
		default:
			return 2;
		}
	}
	if (count) {
		int fd = open(count, O_WRONLY | O_CREAT | O_APPEND, 0600);
		if (fd >= 0) {
			if (write(fd, "run\n", 4) != 4)
				return 1;
			close(fd);
		}
	}
	if (sleep_ms > 0) {
		struct timespec ts = {sleep_ms / 1000,
				      (sleep_ms % 1000) * 1000000L};
		nanosleep(&ts, NULL);
	}
	/* ASIA + 6 letters of the name + 10 digits */
	char tag[7] = "XXXXXX";
	for (int i = 0; i < 6 && name[i]; i++) {
		char c = name[i];
		if (c >= 'a' && c <= 'z')
			c -= 32;
		tag[i] =
		    (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ? c : 'X';
	}
	if (life > 0) {
		time_t t = time(NULL) + life;
		struct tm tm;
		gmtime_r(&t, &tm);
		strftime(exp, sizeof(exp), "%Y-%m-%dT%H:%M:%SZ", &tm);
		snprintf(ak, sizeof(ak), "ASIA%s%010ld", tag, (long)getpid());
	} else {
		snprintf(exp, sizeof(exp), "2099-01-01T00:00:00Z");
		snprintf(ak, sizeof(ak), "ASIA%s0000000001", tag);
	}
	int n = snprintf(
	    out, sizeof(out),
	    "{\"Version\": 1, \"AccessKeyId\": \"%s\", "
	    "\"SecretAccessKey\": \"bench/secret+key/%s/0123456789abcdefXY\", "
	    "\"SessionToken\": \"%s\", \"Expiration\": \"%s\"}\n",
	    ak, tag, TOKEN, exp);
	return write(1, out, (size_t)n) == n ? 0 : 1;
}
