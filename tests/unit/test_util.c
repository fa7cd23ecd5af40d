/* util: util_term_safe, what `credfs audit tail|report|verify` print of a
 * log's strings (a log is untrusted: an executable's name is the caller's
 * choice, and lands in its audit line); util_time_parse, which reads the
 * expiry times providers send (Google's expireTime, Vault's, AWS's). */
#include <errno.h>
#include <time.h>

#include "core/util.h"
#include "tests/tap.h"

static void safe(const char *in, size_t cap, const char *want,
		 const char *what)
{
	char out[64];

	util_term_safe(in, out, cap);
	is_str(out, want, "%s", what);
}

/* want < 0: refused */
static void when(const char *in, long long want)
{
	time_t t = 12345;
	int r = util_time_parse(in, &t);

	if (want < 0) {
		ok(r == -EINVAL && t == 12345, "refused: \"%s\"", in);
		return;
	}
	ok(r == 0 && (long long)t == want, "\"%s\" = %lld (got %d, %lld)",
	   in, want, r, (long long)t);
	if (r == 0) {
		char buf[32];
		time_t t2 = 0;

		util_time_format(t, buf, sizeof(buf));
		ok(util_time_parse(buf, &t2) == 0 && t2 == t,
		   "\"%s\" formats as %s and reads back", in, buf);
	}
}

int main(void)
{
	when("2024-02-29T12:00:00Z", 1709208000);
	when("2024-02-29T12:00:00.123456789Z", 1709208000);
	when("2024-02-29t12:00:00z", 1709208000);
	when("2024-02-29 12:00:00", 1709208000);
	when("2024-02-29T14:30:00+02:30", 1709208000);
	when("2024-02-29T09:00:00-0300", 1709208000);
	when("2016-12-31T23:59:60Z", 1483228800);
	when("1970-01-01T00:00:00Z", 0);
	when("9999-12-31T23:59:59Z", 253402300799LL);
	when("2023-02-29T00:00:00Z", -1);
	when("2024-04-31T00:00:00Z", -1);
	when("2024-13-01T00:00:00Z", -1);
	when("2024-01-01T24:00:00Z", -1);
	when("2024-01-01T00:00:00+24:00", -1);
	when("2024-01-01T00:00:00+2:00", -1);
	when("0-1-02T0:30:00.+256Z", -1);
	when("0030-01-02T00:30:00+25:6", -1);
	when("2024-01-01T00:00:00.Z", -1);
	when("2024-01-01T00:00:00Zjunk", -1);
	when("2024-01-01T00:00:00+01:00Z", -1);
	when(" 2024-01-01T00:00:00Z", -1);
	when("+2024-01-01T00:00:00Z", -1);
	when("1969-12-31T23:59:59Z", -1);
	when("1970-01-01T00:30:00+01:00", -1);
	when("9999-12-31T23:59:59-00:01", -1);
	when("2024-01-01", -1);
	when("", -1);

	safe("/usr/bin/cat", 64, "/usr/bin/cat", "printable ASCII is kept");
	safe("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x94\x91", 64,
	     "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x94\x91",
	     "valid UTF-8 text (2, 3 and 4 bytes) is kept");
	safe("a\x1b[2Jb\x07\x7f", 64, "a?[2Jb??", "C0 controls and DEL");
	safe("x\xc2\x9b" "31mred", 64, "x?" "31mred",
	     "a C1 CSI (U+009B, which a UTF-8 terminal obeys) is replaced "
	     "with its whole encoding");
	safe("\xc2\x85\xc2\x9f\xc2\xa0", 64, "??\xc2\xa0",
	     "C1 controls U+0085, U+009F go; U+00A0 stays");
	safe("a\xe2\x80\xa8" "b\xe2\x80\xae" "c\xe2\x81\xa6" "d", 64, "a?b?c?d",
	     "line separator, bidi override and isolate are replaced");
	safe("\x9b\xff\xc0\xaf\xe0\x80\xaf\xed\xa0\x80", 64, "??????????",
	     "stray continuation, invalid lead, overlong and surrogate bytes "
	     "each become '?'");
	safe("\xe2\x82", 64, "??", "a character cut at the end of the string");
	safe("ab\xe2\x82\xac", 5, "ab", "never cuts a character at the "
					 "buffer's end");
	safe(NULL, 8, "", "NULL reads as empty");
	return tap_done();
}
