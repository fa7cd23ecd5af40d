/* error: the one error type (see error.h). */
#include "core/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static void one_line(char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = ' ';
}

__attribute__((format(printf, 4, 0))) static int
error_vset(struct error *e, int code, enum error_kind kind,
		      const char *fmt, va_list ap)
{
	if (code < 0)
		code = -code;
	if (e) {
		e->code = code;
		e->kind = kind;
		vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
		one_line(e->msg);
	}
	return -code;
}

int error_set(struct error *e, int code, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = error_vset(e, code, ERROR_GENERIC, fmt, ap);
	va_end(ap);
	return r;
}

int error_setk(struct error *e, int code, enum error_kind kind,
	       const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = error_vset(e, code, kind, fmt, ap);
	va_end(ap);
	return r;
}

void error_prefix(struct error *e, const char *fmt, ...)
{
	char pre[256], old[sizeof(e->msg)];
	va_list ap;

	if (!e)
		return;
	va_start(ap, fmt);
	vsnprintf(pre, sizeof(pre), fmt, ap);
	va_end(ap);
	memcpy(old, e->msg, sizeof(old));
	size_t n = strlen(pre);
	if (n > sizeof(e->msg) - 3)
		n = sizeof(e->msg) - 3;
	memcpy(e->msg, pre, n);
	memcpy(e->msg + n, ": ", 2);
	size_t room = sizeof(e->msg) - n - 3, m = strnlen(old, room);
	memcpy(e->msg + n + 2, old, m);
	e->msg[n + 2 + m] = '\0';
	one_line(e->msg);
}

void error_clear(struct error *e)
{
	if (e)
		memset(e, 0, sizeof(*e));
}

const char *error_format(const struct error *e, char *buf, size_t len)
{
	if (e->line > 0 && e->file)
		snprintf(buf, len, "%s:%d: %s", e->file, e->line, e->msg);
	else
		snprintf(buf, len, "%s", e->msg);
	return buf;
}

int error_exit_status(const struct error *e)
{
	return e->kind == ERROR_CONFIG || e->kind == ERROR_USAGE ? 2 : 1;
}
