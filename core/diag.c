/* diag: the problems config_load collects, each kept with its line so
 * they sort without reading the text back. */
#include "core/config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

__attribute__((format(printf, 3, 0))) static void
diag_vadd(struct diag *d, int line, const char *fmt, va_list ap)
{
	char msg[768], *full;
	int n;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	n = line > 0
		? asprintf(&full, "%s:%d: %s", d->file ? d->file : "config",
			   line, msg)
		: asprintf(&full, "%s: %s", d->file ? d->file : "config", msg);
	if (n < 0)
		return;
	char **m = realloc(d->msgs, (d->n + 1) * sizeof(*m));
	if (!m) {
		free(full);
		return;
	}
	d->msgs = m;
	int *l = realloc(d->lines, (d->n + 1) * sizeof(*l));
	if (!l) {
		free(full);
		return;
	}
	d->lines = l;
	d->msgs[d->n] = full;
	d->lines[d->n] = line;
	d->n++;
}

void diag_add(struct diag *d, int line, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	diag_vadd(d, line, fmt, ap);
	va_end(ap);
}

void cfg_error(struct diag *d, int line, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	diag_vadd(d, line, fmt, ap);
	va_end(ap);
}

void diag_sort(struct diag *d)
{
	/* insertion sort: stable, and configs are small */
	for (size_t i = 1; i < d->n; i++) {
		char *m = d->msgs[i];
		int line = d->lines[i];
		size_t j = i;
		while (j > 0 && d->lines[j - 1] > line) {
			d->msgs[j] = d->msgs[j - 1];
			d->lines[j] = d->lines[j - 1];
			j--;
		}
		d->msgs[j] = m;
		d->lines[j] = line;
	}
}

void diag_free(struct diag *d)
{
	for (size_t i = 0; i < d->n; i++)
		free(d->msgs[i]);
	free(d->msgs);
	free(d->lines);
	d->msgs = NULL;
	d->lines = NULL;
	d->n = 0;
}
