/* util: util_term_safe, what `credfs audit tail|report|verify` print of a
 * log's strings (a log is untrusted: an executable's name is the caller's
 * choice, and lands in its audit line). */
#include "core/util.h"
#include "tests/tap.h"

static void safe(const char *in, size_t cap, const char *want,
		 const char *what)
{
	char out[64];

	util_term_safe(in, out, cap);
	is_str(out, want, "%s", what);
}

int main(void)
{
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
