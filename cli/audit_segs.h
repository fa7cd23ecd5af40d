/* audit_segs: the audit log and its rotated segments in order, for
 * `credfs audit verify` (see audit_segs.c). */
#ifndef CREDFS_AUDIT_SEGS_H
#define CREDFS_AUDIT_SEGS_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

struct audit_seg {
	char name[PATH_MAX + 4];
	unsigned long long num; /* 0: the log, never rotated */
	size_t from;		/* offset in the concatenation */
	size_t first_line;	/* 1-based, in the concatenation; 0 unknown */
};

struct audit_segs {
	char *data; /* every kept segment's bytes, oldest first */
	size_t size, cap;
	struct audit_seg *seg;
	size_t nseg;
	bool anchored; /* begins at the anchor segment, not at seq 1 */
	unsigned long long anchor;
};

/* Loads the log and the segments its header names; prints what is missing,
 * renamed, reordered or cut and returns 1, else 0. */
int audit_segs_load(const char *log, struct audit_segs *s, FILE *out);
/* For reading (tail, report): the kept segments and the log, oldest first;
 * when they do not check out, the log alone after a note on out.  0, or -1
 * (said on out) when the log cannot be read. */
int audit_segs_read_all(const char *log, struct audit_segs *s, FILE *out);
/* For `tail -f`: what follows fd, a log renamed to segment K: segment K+1
 * when there (rotated twice since), else the log; an fd or -1. */
int audit_segs_open_next(const char *log, int fd);
void audit_segs_free(struct audit_segs *s);
/* Records that line (0-based) begins at offset of the concatenation. */
void audit_segs_index(struct audit_segs *s, size_t line, size_t offset);
/* "line N" (one file) or "FILE line N" for line (0-based). */
const char *audit_segs_where(const struct audit_segs *s, size_t line);
/* Why a log begins past seq 1 (its first line, at where): a cut the
 * writer recorded (unlinked, replaced, truncated in place) or lines
 * removed. */
void audit_segs_say_cut(const char *line, size_t len, const char *where,
			FILE *out);

#endif
