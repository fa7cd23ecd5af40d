/* audit: the tamper-evident JSON Lines log of every open and every change.
 *
 * Each line carries "prev", the SHA-256 (hex) of the previous line's bytes
 * (without its newline), and "seq"; the first line's prev is 64 zeros.
 * Once sealed (access/audit_seal.h) each line also carries "ep" and a MAC
 * under a forward-secure key.
 */
#ifndef CREDFS_AUDIT_H
#define CREDFS_AUDIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <time.h>

struct caller;
struct policy_decision;
struct audit;
typedef struct cJSON cJSON;

enum audit_sync { AUDIT_SYNC_NONE, AUDIT_SYNC_BATCH, AUDIT_SYNC_ALWAYS };

/* The first line's prev. */
#define AUDIT_CHAIN_START                                                      \
	"0000000000000000000000000000000000000000000000000000000000000000"

/* The chain's link, each line's "prev": digest_sha256_hex (core/digest.h)
 * of the line before it, without its newline. */
/* Whether a parsed "seq" is one: a whole number >= 1 a double holds. */
bool audit_seq_ok(const cJSON *seq);

struct error;

/* target: a path (created 0600, parent 0700) or "syslog".  Continues the
 * chain of an existing log (reads its last line). */
int audit_open(const char *target, enum audit_sync sync, struct audit **out,
	       struct error *e) __attribute__((warn_unused_result));
void audit_close(struct audit *a);

/* Segments and the replaced-log policy (access/audit_rotate.c).  When the
 * log passes max_size bytes or max_age seconds it ends with a
 * "segment_end" line, is renamed "<log>.seg-NNNNNN" (its segment number),
 * and a new log begins with a "segment_start" line chained from it, naming
 * the oldest segment kept ("anchor"): keep > 0 deletes older ones.  With
 * required, a log replaced by a foreign file while open refuses every line
 * (and so every open) until that file is moved aside. */
struct audit_opts {
	long long max_size; /* 0: no size limit */
	int max_age;	    /* seconds, 0: no age limit */
	int keep;	    /* rotated segments kept, 0: all */
	bool required;
};
void audit_set_opts(struct audit *a, const struct audit_opts *o);
/* Segment k's file: "<log>.seg-%06llu"; -ENAMETOOLONG if it does not fit. */
int audit_segment_path(const char *log, unsigned long long k, char *out,
		       size_t len);
/* The segment number in a "<log>.seg-N[.gz]" base name, 0 if not one. */
unsigned long long audit_segment_number(const char *logbase,
					const char *name);
/* The rollback anchor of the sealed store's manifest (crypto/store.h):
 * the highest manifest generation recorded in the log ("manifest" events,
 * carried into each segment_start), and recording a new one. */
unsigned long long audit_manifest_gen(struct audit *a);
int audit_manifest_put(struct audit *a, unsigned long long gen);
/* For `credfs status`: the log, its segment and size, the free space of
 * its filesystem with a "warning" when short, a refusal's reason. */
cJSON *audit_status(struct audit *a);

/* Generic event: takes ownership of fields (may be NULL); adds ts, seq,
 * event, prev.  Returns 0 once the line is written (and synced per mode). */
int audit_event(struct audit *a, const char *event, cJSON *fields);

/* The open event.  key_ids/profiles are arrays of n strings. */
int audit_open_event(struct audit *a, const char *file,
		     const char *const *profiles, size_t nprofiles,
		     const struct caller *c, const struct policy_decision *d,
		     const char *const *key_ids, size_t nkeys, time_t expires);

/* The exec event (`credfs exec`): who asked for which profile, the
 * decision, and on an allow the key id handed out. */
struct audit_exec {
	const char *profile;
	const char *command; /* what the asker says it will run, or NULL */
	bool via_daemon;
	const char *key_id; /* allowed: the credential's key id, or NULL */
	time_t expires;
};
int audit_exec_event(struct audit *a, const struct audit_exec *x,
		     const struct caller *c, const struct policy_decision *d);

#endif
