#include "core/provider.h"
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void perr_set(struct perr *e, const char *fmt, ...)
{
	va_list ap;

	if (!e)
		return;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	/* One line, always: a remote message may carry newlines. */
	for (char *p = e->msg; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = ' ';
}

const struct provider_ops *provider_lookup(const struct provider_ops *const *table,
					   const char *name)
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
