/* libFuzzer target for reading an audit log back: whoever can write the
 * log's directory can put any bytes in it, and `credfs audit verify`,
 * `verify --key`, `tail` and `report` must still answer.  Each input is
 * written as the log (its first two bytes, little-endian, say how many of
 * the bytes after them are written first as the segment before it, so
 * rotation's chaining is reached), then all four read it.  Checked: each returns an exit status of 0 or 1, and what
 * it prints is text a terminal shows as is (no control character but
 * newline and tab, whatever the log held).
 */
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "access/audit.h"
#include "cli/audit_cmd.h"
#include "fuzz_common.h"

static char dir[] = "/tmp/credfs-fuzz-audit.XXXXXX";
static char log_path[64], seg_path[96];

static void put(const char *path, const uint8_t *d, size_t n)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	if (fd < 0)
		abort();
	while (n) {
		ssize_t w = write(fd, d, n);
		if (w <= 0)
			abort();
		d += w, n -= (size_t)w;
	}
	close(fd);
}

static void check(int status, char *text, size_t len)
{
	if (status != 0 && status != 1)
		__builtin_trap();
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)text[i];
		if ((c < 0x20 && c != '\n' && c != '\t') || c == 0x7f)
			__builtin_trap();
	}
	free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char key[] = "00112233445566778899aabbccddeeff"
				  "00112233445566778899aabbccddeeff";
	char *text;
	size_t len, cut;
	FILE *out;

	fuzz_init();
	if (!log_path[0]) {
		if (!mkdtemp(dir))
			abort();
		snprintf(log_path, sizeof(log_path), "%s/audit.log", dir);
		if (audit_segment_path(log_path, 1, seg_path,
				       sizeof(seg_path)) < 0)
			abort();
	}
	if (size < 2)
		return 0;
	cut = (size_t)(data[0] | data[1] << 8) % (size - 1);
	data += 2, size -= 2;
	unlink(seg_path);
	if (cut)
		put(seg_path, data, cut);
	put(log_path, data + cut, size - cut);

	if (!(out = open_memstream(&text, &len)))
		abort();
	int s = audit_cmd_verify(log_path, out);
	fclose(out);
	check(s, text, len);

	if (!(out = open_memstream(&text, &len)))
		abort();
	s = audit_cmd_verify_key(log_path, key, out);
	fclose(out);
	check(s, text, len);

	if (!(out = open_memstream(&text, &len)))
		abort();
	s = audit_cmd_tail(log_path, false, out);
	fclose(out);
	check(s, text, len);

	if (!(out = open_memstream(&text, &len)))
		abort();
	s = audit_cmd_report(log_path, NULL, NULL, out);
	fclose(out);
	check(s, text, len);
	return 0;
}
