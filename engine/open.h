/* open: the pipeline that decides and serves an open of a virtual file,
 * with no FUSE in it (the FUSE layer only translates requests into these
 * calls).
 *
 *   open_authorize  identify the caller, policy, the lock; a denial is
 *                   audited here
 *   open_snapshot   refresh or wait, render into secret memory, the allow
 *                   audit line written before any byte can be served
 *   open_serve      bytes at an offset, the reader's uid re-checked
 *   open_release    wipe
 *
 * Per-file open and denial counters and the mean cost of each step live
 * here (open_status, open_timing).
 */
#ifndef CREDFS_OPEN_H
#define CREDFS_OPEN_H

#include "access/policy.h"
#include "core/secmem.h"

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>

struct config;
struct engine;
struct audit;
struct caller;
struct file_cfg;
typedef struct cJSON cJSON;

struct open_pipeline;

/* Who asks, as the kernel says (the request's thread id, uid, gid). */
struct open_who {
	pid_t tid;
	uid_t uid;
	gid_t gid;
};

/* An authorised open on its way to a snapshot (stack-allocated by the
 * caller; open_snapshot consumes it). */
struct open_auth {
	size_t fidx;
	struct open_who who;
	struct caller *c; /* per-thread identity buffer, not owned */
	struct policy_decision d;
	unsigned long long t0, t1, t2; /* timing: start, identified, decided */
};

/* One open of a virtual file: the snapshot served at every offset. */
struct open_handle {
	size_t fidx;
	uid_t uid;	   /* the opener: the only uid served */
	time_t mtime;	   /* newest credential's refresh */
	struct secbuf buf; /* secret memory, wiped by open_release */
	bool page_cache;   /* cache_kernel file: may be served from the page
			      cache (false: direct I/O only) */
	bool keep_cache;   /* page_cache and nothing changed since the last
			      open: the kernel may keep its pages */
};

/* cfg, engine and audit are borrowed (audit may be NULL). */
int open_pipeline_new(const struct config *cfg, struct engine *engine,
		      struct audit *audit, struct open_pipeline **out)
    __attribute__((warn_unused_result));
void open_pipeline_free(struct open_pipeline *p);

/* While locked every open is denied (and audited as "locked"). */
void open_set_locked(struct open_pipeline *p, bool locked);
bool open_locked(const struct open_pipeline *p);

/* Step 1.  flags: the open(2) flags (anything but a read-only open is
 * -EACCES, unaudited: the file mode already says so).  0 allowed, a filled;
 * -EACCES denied (counted and audited); -ENOMEM. */
int open_authorize(struct open_pipeline *p, size_t fidx,
		   const struct open_who *who, int flags, struct open_auth *a)
    __attribute__((warn_unused_result));
/* Step 2.  The handle is the caller's (open_release it).  -EIO when the
 * file cannot be rendered or, with audit_required, the allow line cannot
 * be written; nothing is served then. */
int open_snapshot(struct open_pipeline *p, struct open_auth *a,
		  struct open_handle **out) __attribute__((warn_unused_result));
/* Steps 1 and 2. */
int open_file(struct open_pipeline *p, size_t fidx, const struct open_who *who,
	      int flags, struct open_handle **out)
    __attribute__((warn_unused_result));
/* Step 3: up to size bytes at off, pointed to in *data (inside the
 * handle's secret memory: copy it nowhere that is not wiped).  Returns
 * the count (0 at the end), or -EACCES for a reader uid other than the
 * opener's (a descriptor passed to another user reads nothing). */
ssize_t open_serve(const struct open_handle *h, uid_t reader, off_t off,
		   size_t size, const char **data);
/* Step 4: wipe and free; NULL is a no-op. */
void open_release(struct open_handle *h);

/* Attributes of virtual file fidx as who would see them (the size it
 * would read now, never waiting for a provider). */
int open_stat(struct open_pipeline *p, size_t fidx, const struct open_who *who,
	      struct stat *st);
/* Attributes of what an open handle serves (fstat). */
void open_handle_stat(const struct open_pipeline *p,
		      const struct open_handle *h, struct stat *st);
/* Attributes of a directory that exists only for virtual files. */
void open_vdir_stat(const struct open_pipeline *p, struct stat *st);

/* Per-file opens and denials as a JSON array. */
cJSON *open_status(struct open_pipeline *p);
/* Mean cost of each step of an allowed open (identify, policy, render
 * including the credential lookup, audit), in ns. */
cJSON *open_timing(struct open_pipeline *p);

#endif
