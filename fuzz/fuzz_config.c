/* libFuzzer target for the configuration parser and checker: any bytes
 * give a config or a list of FILE:LINE problems, never a crash. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

#include "providers/registry.h"
#include "core/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int fd = -1;
	char path[64];
	struct config *c = NULL;
	struct diag d = {0};

	if (fd < 0 && (fd = memfd_create("fuzz-config", 0)) < 0)
		return 0;
	if (ftruncate(fd, 0) < 0 || pwrite(fd, data, size, 0) != (ssize_t)size)
		return 0;
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	(void)config_load(path, providers_all, &c, &d);
	for (size_t i = 0; i < d.n; i++)
		if (!d.msgs[i] || !d.msgs[i][0])
			__builtin_trap(); /* every problem says something */
	diag_free(&d);
	config_free(c);
	return 0;
}
