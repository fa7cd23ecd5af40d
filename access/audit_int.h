/* audit_int: the writer's state, shared by audit.c and audit_tail.c.
 * Internal to access/: nothing outside includes it. */
#ifndef CREDFS_AUDIT_INT_H
#define CREDFS_AUDIT_INT_H

#include "access/audit.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

struct audit_seal;

struct audit {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	char *path;
	int fd;
	bool use_syslog;
	enum audit_sync sync;
	uint64_t seq;	/* seq of the last line */
	char prev[65];	/* hex SHA-256 of the last line */
	off_t size;	/* file size after the last whole line */
	off_t last_off; /* where our last line starts, -1 if unknown */
	uint64_t synced_seq;
	uint64_t failed_seq; /* lines up to here were hit by a failed sync */
	int failed_err;
	bool syncing;
	/* batch: a syncer thread makes written lines durable within
	 * AUDIT_BATCH_MS, one fdatasync for all of them. */
	pthread_t syncer;
	bool syncer_running;
	bool stopping;
	pthread_cond_t wake;
	int sync_err; /* last background fdatasync failure, 0 if none */
	/* The flock lease (file targets). */
	bool held;
	long held_since_ms, last_ms, cool_until_ms;
	struct audit_seal *seal; /* NULL: not sealed (audit_seal.h) */
	uint64_t last_epoch_end; /* epoch the last line ended, 0 if none */
	/* Segments (audit_rotate.c). */
	struct audit_opts opts;
	uint64_t segment;	 /* the current file's segment number */
	uint64_t anchor;	 /* the oldest segment kept */
	time_t seg_began;	 /* the current segment's first line */
	bool header_pending;	 /* a new segment owes its first line */
	long rotate_retry_ms;	 /* after a failed rotation */
	const char *reopen_why;	 /* set by a reopen: the integrity line */
	int refusing;		 /* errno while a replaced log is refused */
	uint64_t manifest_gen;	 /* the store's anchor, 0 if none seen */
	char refuse_why[256];
};

#define AUDIT_TICK_MS 5 /* the thread's period: batch sync, lease check */
/* When the thread loads OpenSSL's SHA-256 (core/digest.h): after a
 * daemon's start, whose first read R8 times. */
#define AUDIT_DIGEST_DELAY_MS 250
#define AUDIT_LEASE_IDLE_MS 2
#define AUDIT_LEASE_MAX_MS 50
#define AUDIT_LEASE_COOL_MS 5

/* Loads seq/prev/size from the end of the file (under flock).  A torn
 * last line (no newline: a crash mid-write) is cut off; *torn says how
 * many bytes. */
int audit_load_tail(struct audit *a, size_t *torn, char *err, size_t errlen);
/* The highest ,"manifest_gen":N in fd's bytes [from, to); from < 0: the
 * last one before to, read backwards. */
uint64_t audit_scan_manifest_gen(int fd, off_t from, off_t to);
/* Under flock: if someone else appended since our last line, continue
 * from theirs, provided ours is still intact. */
void audit_resync_locked(struct audit *a);
/* Under a->lock and flock: reopens the log if its name no longer leads to
 * our file (sets a->reopen_why; silently when another writer rotated it);
 * -errno while a->refusing (a foreign file, opts.required). */
int audit_reopen_if_replaced(struct audit *a);

/* audit.c: one line / an epoch's end, under a->lock and the lease. */
int audit_write_locked(struct audit *a, const char *event, const char *body,
		       size_t bodylen, int priority, char *line, size_t cap,
		       uint64_t *seq_out);
int audit_seal_epoch_locked(struct audit *a);

/* audit_rotate.c.  The current file's segment, anchor and start from its
 * first line (or the segment files next to it). */
void audit_read_head(struct audit *a);
bool audit_rotate_due(const struct audit *a);
/* Under a->lock and the lease: ends the segment, renames it, starts the
 * next (its header written, or a->header_pending). */
int audit_rotate_locked(struct audit *a, const char *why);
int audit_header_locked(struct audit *a);

#endif
