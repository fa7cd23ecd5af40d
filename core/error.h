/* error: the one error type, from the bottom layer to the top.
 *
 * A function that can fail returns 0 or a negative errno and, when the
 * caller passed a struct error, fills it: the errno-style code, the config
 * line when the cause is a line of the config, and a message that names
 * the object and the cause.  It is formatted once, at the edge (the CLI's
 * stderr line, the status JSON, the audit event); nothing parses it back:
 * callers branch on .code and .kind.
 *
 * WARNING: a message must never carry a secret value (log ids, lengths,
 * fingerprints).  Provider text quoted into it is made one line.
 */
#ifndef CREDFS_ERROR_H
#define CREDFS_ERROR_H

#include <stddef.h>

/* What a caller may branch on besides the errno code. */
enum error_kind {
	ERROR_GENERIC = 0,
	ERROR_CONFIG,	 /* the config is wrong: exit 2 */
	ERROR_USAGE,	 /* the command line is wrong: exit 2 */
	ERROR_NO_DAEMON, /* nothing listens on the control socket */
	ERROR_PROVIDER,	 /* the remote side refused or failed */
	ERROR_DENIED,	 /* policy or lock */
};

struct error {
	int code;	     /* positive errno, 0 = no error */
	enum error_kind kind;
	const char *file;    /* config file when line > 0 (borrowed) */
	int line;	     /* config line, 0 if none */
	int retry_in;	     /* seconds until the next attempt, 0 if none */
	char msg[512];	     /* one line, no trailing period */
};

/* Sets e (if not NULL) and returns -code.  The message is made one line
 * (control characters become spaces). */
int error_set(struct error *e, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int error_setk(struct error *e, int code, enum error_kind kind,
	       const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* Prefixes the message with "what: " (e.g. the profile name). */
void error_prefix(struct error *e, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void error_clear(struct error *e);
/* "FILE:LINE: msg", or "msg" without a line, into buf. */
const char *error_format(const struct error *e, char *buf, size_t len);
/* The exit status the CLI uses: 2 for config and usage errors, else 1. */
int error_exit_status(const struct error *e);

#endif
