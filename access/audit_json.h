/* audit_json: the one JSON encoder of the audit log.
 *
 * A line is built straight into a growable buffer (on the stack for a
 * typical open line): no tree is built on an open's path.  Generic events
 * hand a cJSON object, whose members are written with the same escaping.
 * Strings are forced to valid UTF-8 (U+FFFD for a bad byte) and control
 * characters are escaped, so a hostile comm, exe or cmdline stays inside
 * one line and one JSON string.
 */
#ifndef CREDFS_AUDIT_JSON_H
#define CREDFS_AUDIT_JSON_H

#include <stdbool.h>
#include <stddef.h>

typedef struct cJSON cJSON;

struct ajson {
	char *p; /* the text so far, not NUL-terminated */
	size_t len, cap;
	bool oom;   /* an allocation failed: the text is incomplete */
	bool first; /* no member written yet */
	char stack[3072];
};

/* Starts an empty member list (ajson_free releases a grown buffer). */
void ajson_init(struct ajson *j);
void ajson_free(struct ajson *j);

void ajson_raw(struct ajson *j, const char *s, size_t n);
/* A JSON string for s (null for NULL). */
void ajson_str(struct ajson *j, const char *s);
void ajson_kstr(struct ajson *j, const char *key, const char *s);
void ajson_kint(struct ajson *j, const char *key, long long v);
void ajson_kbool(struct ajson *j, const char *key, bool v);
void ajson_knull(struct ajson *j, const char *key);
void ajson_kstrs(struct ajson *j, const char *key, const char *const *v,
		 size_t n);
/* The members of a cJSON object, but those named in skip (NULL-ended). */
void ajson_members(struct ajson *j, const cJSON *obj, const char *const *skip);

/* Length of the valid UTF-8 sequence at s (1..4), or 0 if invalid. */
size_t ajson_utf8_seq(const unsigned char *s, size_t left);

#endif
