#include "core/provider.h"
#include <stdio.h>
#include <string.h>

const struct provider_ops *
provider_lookup(const struct provider_ops *const *table, const char *name)
{
	for (size_t i = 0; table && table[i]; i++)
		if (strcmp(table[i]->name, name) == 0)
			return table[i];
	return NULL;
}

void provider_list_names(const struct provider_ops *const *table, char *buf,
			 size_t len)
{
	size_t off = 0;

	if (len)
		buf[0] = '\0';
	for (size_t i = 0; table && table[i] && off < len; i++) {
		int n = snprintf(buf + off, len - off, "%s%s", i ? ", " : "",
				 table[i]->name);
		if (n < 0)
			break;
		off += (size_t)n;
	}
}
