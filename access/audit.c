/* audit: the writer of the tamper-evident JSON Lines log.
 *
 * A line is {"ts":...,"seq":N,"event":...,<fields>,"prev":HEX}: prev is the
 * SHA-256 of the previous line's bytes (without its newline), seq counts
 * from 1.  Each line goes out in one write(2) on an O_APPEND descriptor; a
 * short write (ENOSPC) is cut back with ftruncate so the file always ends
 * with a whole line and the chain goes on when space returns.
 *
 * Several processes may append (the daemon and a command run while it is
 * down or up): a write holds flock(LOCK_EX), and a writer that takes the
 * lock and finds the file grown by someone else continues from the new
 * last line, but only if its own last line is still there unchanged,
 * otherwise it keeps its own chain so the tampering shows in `audit
 * verify`.  A busy writer keeps the lock between lines (a lease): one
 * write(2) per line instead of lock, fstat, write, unlock.  The handle's
 * thread gives the lease back after AUDIT_LEASE_IDLE_MS without a line,
 * or after AUDIT_LEASE_MAX_MS, then writes lock per line for
 * AUDIT_LEASE_COOL_MS so a waiting writer gets in: another writer waits
 * a few milliseconds at most.
 *
 * A log whose name no longer leads to the open file (unlinked, replaced)
 * is reopened by name when the lease is next taken, with an "integrity"
 * line there; a sealed log (access/audit_seal.h, "<log>.seal" present)
 * ends each line with its epoch and MAC.
 *
 * Every line's members are written by access/audit_json.c (one encoder,
 * one escaping); reading the log back is cli/audit_cmd.c's job.
 */
#include "access/audit_int.h"
#include "access/audit_json.h"
#include "access/audit_seal.h"
#include "access/caller.h"
#include "access/policy.h"
#include "core/error.h"
#include "core/util.h"
#include "core/digest.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

/* The log's directory, created 0700 where missing. */
static int make_parent(const char *path)
{
	char dir[PATH_MAX], *slash;

	if (snprintf(dir, sizeof(dir), "%s", path) >= (int)sizeof(dir))
		return -ENAMETOOLONG;
	slash = strrchr(dir, '/');
	if (!slash || slash == dir)
		return 0;
	*slash = '\0';
	return util_mkdir_p(dir, 0700);
}

bool audit_seq_ok(const cJSON *seq)
{
	return cJSON_IsNumber(seq) && seq->valuedouble >= 1 &&
	       seq->valuedouble <= 9007199254740992.0 &&
	       seq->valuedouble == (double)(uint64_t)seq->valuedouble;
}

static void *syncer_main(void *arg);
static void lease_take(struct audit *a);

int audit_open(const char *target, enum audit_sync sync, struct audit **out,
	       struct error *e)
{
	struct audit *a = NULL;
	struct stat st;
	size_t torn = 0;
	bool created = false;
	char err[400] = "";
	const size_t errlen = sizeof(err);
	int r;

	*out = NULL;
	if (!target || !*target)
		return error_set(e, EINVAL, "audit log: no target");
	/* Reading the log's end below hashes lines: not worth waiting for
	 * OpenSSL's SHA-256 to load (the syncer thread loads it). */
	digest_defer();
	a = calloc(1, sizeof(*a));
	if (!a)
		return -ENOMEM;
	pthread_mutex_init(&a->lock, NULL);
	pthread_cond_init(&a->cond, NULL);
	pthread_cond_init(&a->wake, NULL);
	a->fd = -1;
	a->sync = sync;
	a->last_off = -1;
	memcpy(a->prev, AUDIT_CHAIN_START, 65);
	if (!strcmp(target, "syslog")) {
		a->use_syslog = true;
		openlog("credfs", LOG_PID, LOG_AUTHPRIV);
		*out = a;
		return 0;
	}
	a->path = strdup(target);
	if (!a->path) {
		r = -ENOMEM;
		goto out;
	}
	if ((r = make_parent(target)) < 0) {
		snprintf(err, errlen,
			 "audit log %s: cannot create directory: %s", target,
			 strerror(-r));
		goto out;
	}
	a->fd = open(target, O_RDWR | O_APPEND | O_CLOEXEC | O_NOFOLLOW);
	if (a->fd < 0 && errno == ENOENT) {
		a->fd = open(target,
			     O_RDWR | O_APPEND | O_CREAT | O_EXCL | O_CLOEXEC |
				 O_NOFOLLOW,
			     0600);
		created = a->fd >= 0;
	}
	if (a->fd < 0) {
		r = -errno;
		snprintf(err, errlen, "audit log %s: %s", target, strerror(-r));
		goto out;
	}
	if (fstat(a->fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		r = -EINVAL;
		snprintf(err, errlen, "audit log %s: not a regular file",
			 target);
		goto out;
	}
	if ((st.st_mode & 077) && fchmod(a->fd, 0600) < 0) {
		r = -errno;
		snprintf(err, errlen, "audit log %s: chmod 0600: %s", target,
			 strerror(-r));
		goto out;
	}
	if (created) {
		/* The new name must survive a crash too. */
		char *dir = strdup(target), *slash;
		int dfd;

		if (dir && (slash = strrchr(dir, '/'))) {
			*(slash == dir ? slash + 1 : slash) = '\0';
			dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
			if (dfd >= 0) {
				fsync(dfd);
				close(dfd);
			}
		}
		free(dir);
	}
	flock(a->fd, LOCK_EX);
	r = audit_load_tail(a, &torn, err, errlen);
	flock(a->fd, LOCK_UN);
	if (r < 0) {
		if (!err[0])
			snprintf(err, errlen, "audit log %s: %s", target,
				 strerror(-r));
		goto out;
	}
	a->synced_seq = a->seq;
	audit_read_head(a);
	a->manifest_gen = audit_scan_manifest_gen(a->fd, -1, a->size);
	r = audit_seal_load(target, &a->seal);
	if (r < 0 && r != -ENOENT) {
		snprintf(err, errlen, "audit log %s: seal state %s.seal: %s",
			 target, target, strerror(-r));
		goto out;
	}
	/* A crash between an epoch's last line and the next key. */
	if (a->seal && a->last_epoch_end &&
	    a->last_epoch_end == audit_seal_epoch(a->seal) &&
	    (r = audit_seal_advance(a->seal)) < 0) {
		snprintf(err, errlen, "audit log %s: seal state: %s", target,
			 strerror(-r));
		goto out;
	}
	/* The lease's (and in batch mode the group commit's) thread, which
	 * also loads OpenSSL's SHA-256 a little later. */
	if ((r = -pthread_create(&a->syncer, NULL, syncer_main, a)) < 0) {
		snprintf(err, errlen, "audit log %s: syncer: %s", target,
			 strerror(-r));
		goto out;
	}
	a->syncer_running = true;
	if (torn) {
		cJSON *f = cJSON_CreateObject();

		cJSON_AddStringToObject(f, "reason",
					"torn last line removed at open");
		cJSON_AddNumberToObject(f, "bytes", (double)torn);
		if ((r = audit_event(a, "integrity", f)) < 0) {
			snprintf(err, errlen, "audit log %s: %s", target,
				 strerror(-r));
			goto out;
		}
	}
	*out = a;
	a = NULL; /* transferred */
	r = 0;
out:
	audit_close(a);
	if (r < 0 && err[0])
		error_set(e, -r, "%s", err);
	else if (r < 0)
		error_set(e, -r, "audit log %s: %s", target, strerror(-r));
	return r;
}

void audit_close(struct audit *a)
{
	if (!a)
		return;
	if (a->syncer_running) {
		pthread_mutex_lock(&a->lock);
		a->stopping = true;
		pthread_cond_broadcast(&a->wake);
		pthread_mutex_unlock(&a->lock);
		pthread_join(a->syncer, NULL);
	}
	pthread_cond_destroy(&a->wake);
	audit_seal_free(a->seal);
	if (a->fd >= 0) {
		if (a->sync != AUDIT_SYNC_NONE)
			fdatasync(a->fd);
		close(a->fd);
	}
	if (a->use_syslog)
		closelog();
	pthread_cond_destroy(&a->cond);
	pthread_mutex_destroy(&a->lock);
	free(a->path);
	free(a);
}

/* Under a->lock: gives the flock lease back when idle or held too long. */
static void lease_check(struct audit *a)
{
	long now = util_mono_ms();

	if (!a->held || (now - a->last_ms < AUDIT_LEASE_IDLE_MS &&
			 now - a->held_since_ms < AUDIT_LEASE_MAX_MS))
		return;
	flock(a->fd, LOCK_UN);
	a->held = false;
	if (now - a->held_since_ms >= AUDIT_LEASE_MAX_MS)
		a->cool_until_ms = now + AUDIT_LEASE_COOL_MS;
}

/* The handle's thread, every AUDIT_TICK_MS: the lease, and in batch mode
 * the group commit, one fdatasync for every line written since the last.
 * A line is written (in the kernel, surviving a daemon crash) before its
 * open is served, and durable on disk within 2 * AUDIT_TICK_MS; `always`
 * waits for the disk on every line. */
static void *syncer_main(void *arg)
{
	struct audit *a = arg;
	/* OpenSSL's SHA-256 loads here, off the open path and after a
	 * daemon's start (about 2 ms of CPU; libsodium hashes the first
	 * lines meanwhile); this thread is joined at audit_close, so no exit
	 * races the load. */
	long digest_at = util_mono_ms() + AUDIT_DIGEST_DELAY_MS;

	pthread_mutex_lock(&a->lock);
	while (!a->stopping) {
		struct timespec ts;
		if (digest_at && util_mono_ms() >= digest_at) {
			digest_at = 0;
			pthread_mutex_unlock(&a->lock);
			digest_prepare();
			pthread_mutex_lock(&a->lock);
			continue;
		}
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += AUDIT_TICK_MS * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&a->wake, &a->lock, &ts);
		/* An idle epoch ends by age too: a later break-in finds the
		 * key of an epoch at most AUDIT_SEAL_EPOCH_SECONDS old. */
		if (audit_seal_due(a->seal, true)) {
			lease_take(a);
			if (!a->refusing && audit_seal_epoch_locked(a) == 0)
				a->last_ms = util_mono_ms();
		}
		/* An idle log's segment ends by age too. */
		if (audit_rotate_due(a)) {
			lease_take(a);
			if (!a->refusing &&
			    audit_rotate_locked(a, "max_age") == 0)
				a->last_ms = util_mono_ms();
		}
		lease_check(a);
		if (a->sync != AUDIT_SYNC_BATCH || a->synced_seq >= a->seq ||
		    a->syncing)
			continue;
		uint64_t target = a->seq;
		a->syncing = true;
		pthread_mutex_unlock(&a->lock);
		int r = fdatasync(a->fd) < 0 ? -errno : 0;
		pthread_mutex_lock(&a->lock);
		a->syncing = false;
		if (r < 0) {
			a->sync_err = -r;
		} else {
			a->sync_err = 0;
			if (target > a->synced_seq)
				a->synced_seq = target;
		}
		pthread_cond_broadcast(&a->cond);
	}
	pthread_mutex_unlock(&a->lock);
	return NULL;
}

/* Group commit: returns once line seq is on disk.  One thread syncs for
 * everyone written so far; the others wait for it. */
static int sync_batch(struct audit *a, uint64_t seq)
{
	int r = 0;

	pthread_mutex_lock(&a->lock);
	while (a->synced_seq < seq) {
		if (a->failed_seq >= seq) {
			r = -a->failed_err;
			break;
		}
		if (a->syncing) {
			pthread_cond_wait(&a->cond, &a->lock);
			continue;
		}
		uint64_t target = a->seq;

		a->syncing = true;
		pthread_mutex_unlock(&a->lock);
		r = fdatasync(a->fd) < 0 ? -errno : 0;
		pthread_mutex_lock(&a->lock);
		a->syncing = false;
		/* An fdatasync error is reported once per file: every line
		 * it covered must report it, not only ours. */
		if (r < 0) {
			a->failed_seq = target;
			a->failed_err = -r;
		} else if (target > a->synced_seq) {
			a->synced_seq = target;
		}
		pthread_cond_broadcast(&a->cond);
		if (r < 0)
			break;
	}
	pthread_mutex_unlock(&a->lock);
	return r;
}

static bool event_name_ok(const char *s)
{
	if (!s || !*s)
		return false;
	for (; *s; s++)
		if (!islower((unsigned char)*s) && *s != '_')
			return false;
	return true;
}

/* Under a->lock: the flock lease, taken if not held. */
static void lease_take(struct audit *a)
{
	if (a->use_syslog || a->held)
		return;
	flock(a->fd, LOCK_EX);
	if (audit_reopen_if_replaced(a) < 0) {
		/* Refusing: let go, look again at the next line. */
		flock(a->fd, LOCK_UN);
		return;
	}
	audit_resync_locked(a);
	if (a->seal)
		audit_seal_refresh(a->seal);
	a->held = true;
	a->held_since_ms = util_mono_ms();
}

/* Under a->lock and the lease: formats, seals and writes one line. */
int audit_write_locked(struct audit *a, const char *event, const char *body,
			size_t bodylen, int priority, char *line, size_t cap,
			uint64_t *seq_out)
{
	struct timespec now;
	char ts[32];
	uint64_t seq;
	size_t len;
	ssize_t n;
	int r;

	clock_gettime(CLOCK_REALTIME, &now);
	util_time_format_ms(&now, ts);
	seq = a->seq + 1;
	len = (size_t)snprintf(line, cap,
			       "{\"ts\":\"%s\",\"seq\":%llu,"
			       "\"event\":\"%s\"%s%.*s,\"prev\":\"%s\"}",
			       ts, (unsigned long long)seq, event,
			       bodylen ? "," : "", (int)bodylen, body, a->prev);
	if (a->seal && (r = audit_seal_line(a->seal, line, &len, cap - 1)) < 0)
		return r;
	if (a->use_syslog) {
		syslog(priority, "%s", line);
	} else {
		line[len] = '\n';
		n = write(a->fd, line, len + 1);
		if (n != (ssize_t)(len + 1)) {
			r = n < 0 ? -errno : -ENOSPC;
			/* Never leave half a line: it would break the chain
			 * for every line after it. */
			if (n > 0 && ftruncate(a->fd, a->size) < 0) {
				/* The next resync cuts it at the newline. */
				a->size = -1;
			}
			flock(a->fd, LOCK_UN);
			a->held = false;
			return r;
		}
		a->last_off = a->size;
		a->size += (off_t)(len + 1);
	}
	a->seq = seq;
	digest_sha256_hex(line, len, a->prev);
	*seq_out = seq;
	return 0;
}

/* Under a->lock and the lease: the epoch's last line, then the next key
 * (the old one erased). */
int audit_seal_epoch_locked(struct audit *a)
{
	char body[96], line[512];
	uint64_t seq;
	int r, n;

	n = snprintf(body, sizeof(body), "\"epoch\":%llu,\"lines\":%llu",
		     (unsigned long long)audit_seal_epoch(a->seal),
		     (unsigned long long)audit_seal_lines(a->seal) + 1);
	if ((r = audit_write_locked(a, "epoch_end", body, (size_t)n, LOG_INFO, line,
			      sizeof(line), &seq)) < 0)
		return r;
	return audit_seal_advance(a->seal);
}

/* Writes one line: body (the inside of a JSON object, no braces, may be
 * empty) between the header and prev. */
static int emit_body(struct audit *a, const char *event, const char *body,
		     size_t bodylen, int priority)
{
	char stackline[4096];
	char *line = stackline;
	size_t cap;
	uint64_t seq = 0;
	int r;

	if (!event_name_ok(event))
		return -EINVAL;
	cap = bodylen + strlen(event) + 300;
	if (cap > sizeof(stackline) && !(line = malloc(cap)))
		return -ENOMEM;

	pthread_mutex_lock(&a->lock);
	lease_take(a);
	if (a->refusing) {
		r = -a->refusing;
		goto unlock;
	}
	if (a->reopen_why) {
		/* Said in the new file, chained from the old. */
		char why[300];
		int wn = snprintf(why, sizeof(why), "\"reason\":\"%s\"",
				  a->reopen_why);

		a->reopen_why = NULL;
		if ((r = audit_write_locked(a, "integrity", why, (size_t)wn,
					    LOG_WARNING, line, cap, &seq)) < 0)
			goto unlock;
	}
	if (a->header_pending && (r = audit_header_locked(a)) < 0)
		goto unlock;
	/* A rotation that fails (rename, ENOSPC) leaves the line here. */
	if (audit_rotate_due(a))
		(void)audit_rotate_locked(a, a->opts.max_size &&
						     a->size >= a->opts.max_size
						 ? "max_size"
						 : "max_age");
	if ((r = audit_write_locked(a, event, body, bodylen, priority, line, cap,
			      &seq)) < 0)
		goto unlock;
	if (audit_seal_due(a->seal, false) && (r = audit_seal_epoch_locked(a)) < 0)
		goto unlock;
	if (!a->use_syslog) {
		/* Keep the lease while lines come, unless a waiter's turn. */
		a->last_ms = util_mono_ms();
		if (!a->syncer_running || a->last_ms < a->cool_until_ms) {
			flock(a->fd, LOCK_UN);
			a->held = false;
		}
	}
unlock:
	pthread_mutex_unlock(&a->lock);
	if (r < 0 || a->use_syslog || a->sync == AUDIT_SYNC_NONE)
		goto out;
	if (a->sync == AUDIT_SYNC_ALWAYS) {
		r = fdatasync(a->fd) < 0 ? -errno : 0;
	} else if (!a->syncer_running) {
		r = sync_batch(a, seq);
	} else {
		/* The disk refused the last background sync: this line
		 * waits for a sync of its own, and fails if that fails. */
		pthread_mutex_lock(&a->lock);
		int pending = a->sync_err;
		pthread_mutex_unlock(&a->lock);
		if (pending)
			r = sync_batch(a, seq);
		if (r == 0 && pending) {
			pthread_mutex_lock(&a->lock);
			a->sync_err = 0;
			pthread_mutex_unlock(&a->lock);
		}
	}
out:
	if (line != stackline)
		free(line);
	return r;
}

/* Generic events: the members of a cJSON object (fields owned). */
static int emit(struct audit *a, const char *event, cJSON *fields, int priority)
{
	/* The header's keys are ours alone (cJSON allows duplicates). */
	static const char *const reserved[] = {"ts", "seq", "event", "prev",
					       NULL};
	struct ajson j;
	int r;

	if (!event_name_ok(event) || (fields && !cJSON_IsObject(fields))) {
		cJSON_Delete(fields);
		return -EINVAL;
	}
	ajson_init(&j);
	ajson_members(&j, fields, reserved);
	cJSON_Delete(fields);
	r = j.oom ? -ENOMEM : emit_body(a, event, j.p, j.len, priority);
	ajson_free(&j);
	return r;
}

int audit_event(struct audit *a, const char *event, cJSON *fields)
{
	if (!a) {
		cJSON_Delete(fields);
		return 0;
	}
	return emit(a, event, fields, LOG_INFO);
}

/* ---- the open event, written directly: it is on every open's path ---- */

static void open_event_caller(struct ajson *j, const struct caller *c)
{
	bool known = c && c->pid > 0;
	size_t i;

	if (known)
		ajson_kint(j, "pid", c->pid);
	else
		ajson_knull(j, "pid");
	if (c) {
		ajson_kint(j, "tid", c->tid);
		ajson_kint(j, "uid", c->uid);
		ajson_kint(j, "gid", c->gid);
	} else {
		ajson_knull(j, "tid");
		ajson_knull(j, "uid");
		ajson_knull(j, "gid");
	}
	ajson_kstr(j, "exe", known && c->exe[0] ? c->exe : NULL);
	if (known && c->exe_deleted)
		ajson_kbool(j, "exe_deleted", true);
	/* The path is the caller's word; what ran is this file, which the
	 * path does not name in the daemon's namespace. */
	if (known && c->exe_mismatch && c->exe_ino) {
		char id[64];

		snprintf(id, sizeof(id), "%u:%u:%llu", major(c->exe_dev),
			 minor(c->exe_dev), (unsigned long long)c->exe_ino);
		ajson_kbool(j, "exe_mismatch", true);
		ajson_kstr(j, "exe_dev_ino", id);
	}
	ajson_kstr(j, "comm", known ? c->comm : NULL);
	ajson_kstr(j, "cmdline",
		   known && (c->have & CALLER_NEED_CMDLINE) ? c->cmdline
							    : NULL);
	ajson_kstr(j, "cgroup",
		   known && (c->have & CALLER_NEED_CGROUP) ? c->cgroup : NULL);
	if (known && (c->have & CALLER_NEED_ANCESTORS)) {
		const char *anc[CALLER_MAX_ANCESTORS];

		for (i = 0; i < c->nancestors && i < CALLER_MAX_ANCESTORS; i++)
			anc[i] = c->ancestors[i];
		ajson_kstrs(j, "ancestors", anc, i);
	}
	if (known && c->tracer)
		ajson_kint(j, "tracer", c->tracer);
}

int audit_open_event(struct audit *a, const char *file,
		     const char *const *profiles, size_t nprofiles,
		     const struct caller *c, const struct policy_decision *d,
		     const char *const *key_ids, size_t nkeys, time_t expires)
{
	bool allow = d && d->allow;
	struct ajson j;
	char buf[32];
	int r;

	if (!a)
		return 0;
	ajson_init(&j);
	ajson_kstr(&j, "file", file);
	ajson_kstrs(&j, "profiles", profiles, nprofiles);
	ajson_kstr(&j, "decision", allow ? "allow" : "deny");
	ajson_kstr(&j, "rule", d ? d->rule : "no decision");
	if (d && d->line)
		ajson_kint(&j, "line", d->line);
	open_event_caller(&j, c);
	ajson_kstrs(&j, "key_ids", key_ids, nkeys);
	if (expires > 0) {
		util_time_format(expires, buf, sizeof(buf));
		ajson_kstr(&j, "expires", buf);
	} else {
		ajson_knull(&j, "expires");
	}
	r = j.oom ? -ENOMEM
		  : emit_body(a, "open", j.p, j.len,
			      allow ? LOG_INFO : LOG_WARNING);
	ajson_free(&j);
	return r;
}

int audit_exec_event(struct audit *a, const struct audit_exec *x,
		     const struct caller *c, const struct policy_decision *d)
{
	bool allow = d && d->allow;
	struct ajson j;
	char buf[32];
	int r;

	if (!a)
		return 0;
	ajson_init(&j);
	ajson_kstr(&j, "profile", x->profile);
	ajson_kstr(&j, "decision", allow ? "allow" : "deny");
	ajson_kstr(&j, "rule", d ? d->rule : "no decision");
	if (d && d->line)
		ajson_kint(&j, "line", d->line);
	ajson_kbool(&j, "daemon", x->via_daemon);
	/* The asker's word for what it will run: not a decision input. */
	ajson_kstr(&j, "command", x->command);
	open_event_caller(&j, c);
	if (x->key_id)
		ajson_kstr(&j, "key_id", x->key_id);
	if (x->expires > 0) {
		util_time_format(x->expires, buf, sizeof(buf));
		ajson_kstr(&j, "expires", buf);
	}
	r = j.oom ? -ENOMEM
		  : emit_body(a, "exec", j.p, j.len,
			      allow ? LOG_INFO : LOG_WARNING);
	ajson_free(&j);
	return r;
}

unsigned long long audit_manifest_gen(struct audit *a)
{
	unsigned long long g;

	if (!a || a->use_syslog)
		return 0;
	pthread_mutex_lock(&a->lock);
	/* What other writers appended counts too. */
	lease_take(a);
	g = a->manifest_gen;
	pthread_mutex_unlock(&a->lock);
	return g;
}

int audit_manifest_put(struct audit *a, unsigned long long gen)
{
	cJSON *f;
	int r;

	if (!a || a->use_syslog)
		return 0;
	pthread_mutex_lock(&a->lock);
	r = gen <= a->manifest_gen;
	pthread_mutex_unlock(&a->lock);
	if (r)
		return 0;
	f = cJSON_CreateObject();
	cJSON_AddNumberToObject(f, "manifest_gen", (double)gen);
	if ((r = audit_event(a, "manifest", f)) == 0) {
		pthread_mutex_lock(&a->lock);
		if (gen > a->manifest_gen)
			a->manifest_gen = gen;
		pthread_mutex_unlock(&a->lock);
	}
	return r;
}
