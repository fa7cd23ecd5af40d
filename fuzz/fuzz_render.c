/* libFuzzer target for the template parser (core/render.c, format =
 * template): "{{ profile.field }}" references in any text, against two
 * profiles, one of which may be hidden from the caller or unavailable, and
 * a field value from the input (which may hold what a file must not).
 * The input is: one flag byte, the value up to the first NUL, then the
 * template.  Any bytes give the rendered text or a one-line error; a
 * refused value never reaches the output. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "core/config.h"
#include "core/render.h"
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int fd = -1;
	static char path[64];
	struct file_cfg f;
	struct render_profile rp[2];
	struct render_input in;
	struct secbuf out = {0};
	struct error e = {0};
	struct cred *prod, *dev;
	const uint8_t *nul;
	char *value;
	size_t vlen;
	int r;

	fuzz_init();
	if (size < 1)
		return 0;
	if (fd < 0) {
		if ((fd = memfd_create("fuzz-template", 0)) < 0)
			return 0;
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	}
	nul = memchr(data + 1, 0, size - 1);
	vlen = nul ? (size_t)(nul - data - 1) : 0;
	if (!nul)
		nul = data;
	if (ftruncate(fd, 0) < 0 ||
	    pwrite(fd, nul + 1, size - (size_t)(nul + 1 - data), 0) < 0)
		return 0;
	if (!(value = strndup((const char *)data + 1, vlen)))
		return 0;
	prod = cred_new();
	dev = cred_new();
	if (!prod || !dev || cred_set(prod, "access_key_id", "AKIAFUZZ") < 0 ||
	    cred_set(prod, "secret", value) < 0 ||
	    cred_set(dev, "token", "t0k3n") < 0)
		goto out;
	cred_set_expiration(prod, time(NULL) + 3600);
	cred_set_expiration(dev, time(NULL) + 3600);
	memset(&f, 0, sizeof(f));
	f.path = "app.conf";
	f.format = FMT_TEMPLATE;
	f.template_path = path;
	memset(rp, 0, sizeof(rp));
	rp[0] = (struct render_profile){.label = "prod", .profile = "prod",
					.cred = prod};
	rp[1] = (struct render_profile){.label = "dev", .profile = "dev",
					.cred = data[0] & 1 ? NULL : dev,
					.why = "refresh failed",
					.hidden = data[0] & 2};
	in = (struct render_input){.file = &f, .n = 2, .p = rp,
				   .now = time(NULL)};
	r = render_file_e(&in, &out, &e);
	if (r == 0) {
		if (vlen && !render_value_ok(value) && out.data &&
		    memmem(out.data, out.len, value, vlen) &&
		    !memmem(nul + 1, size - (size_t)(nul + 1 - data), value,
			    vlen))
			__builtin_trap(); /* a refused value was written */
	} else if (r != -ENOMEM) {
		fuzz_check_error(&e);
	}
out:
	secbuf_wipe(&out);
	cred_unref(prod);
	cred_unref(dev);
	free(value);
	return 0;
}
