/* context: the objects a credfs process works with — config (borrowed),
 * master key, sealed store, audit log and refresh engine — opened in one
 * place, in one order, with one audit-failure policy.  The daemon and
 * every command that needs more than the config open a context.
 *
 * Audit-failure policy (config `audit_required`, default yes):
 *
 *   audit_required = yes: a context that asks for CONTEXT_AUDIT and cannot
 *     open the log fails (context_open returns the error: "audit log PATH:
 *     cause"), and context_audit() returns an error when a line cannot be
 *     written, so the command refuses (exec) or reports failure (rotate,
 *     store): nothing that must leave a trace happens without one.
 *   audit_required = no: the same failures are printed once per process
 *     as a warning on stderr ("...; continuing without an audit line") and
 *     the work goes on; the context then has no audit log, or keeps the
 *     one it has.
 *
 * Store events (store, store_rm, integrity) go to the context's audit log
 * while it is open (store_set_event_hook); one context per process opens
 * the audit log.
 */
#ifndef CREDFS_CONTEXT_H
#define CREDFS_CONTEXT_H

#include <stdbool.h>
#include <stdint.h>

struct config;
struct store;
struct audit;
struct engine;
struct error;
typedef struct cJSON cJSON;

enum context_part {
	CONTEXT_KEY = 1 << 0,	 /* derive or load the master key */
	CONTEXT_STORE = 1 << 1,	 /* open the sealed store (implies KEY) */
	CONTEXT_AUDIT = 1 << 2,	 /* open the audit log */
	CONTEXT_ENGINE = 1 << 3, /* an engine over store and audit */
	/* May prompt for the passphrase on the terminal. */
	CONTEXT_INTERACTIVE = 1 << 4,
	/* Audit with the config's audit_sync (the daemon); commands sync
	 * every line. */
	CONTEXT_AUDIT_CONFIG_SYNC = 1 << 5,
};

struct context {
	const struct config *cfg; /* borrowed: outlives the context */
	uint8_t *key;		  /* KEY_BYTES, sodium_malloc'd, or NULL */
	struct store *store;	  /* NULL unless CONTEXT_STORE */
	struct audit *audit;	  /* NULL unless CONTEXT_AUDIT (and open) */
	struct engine *engine;	  /* NULL unless CONTEXT_ENGINE */
	unsigned parts;
};

/* Opens what parts asks for, in the order key, audit, store, engine.  On
 * failure nothing stays open and e says what failed ("key: ...",
 * "store: ...", "audit log PATH: ..."). */
int context_open(const struct config *cfg, unsigned parts, struct context **out,
		 struct error *e) __attribute__((warn_unused_result));
/* Opens more parts of an open context (the daemon derives the key before
 * it forks and opens the rest in the serving process). */
int context_add(struct context *c, unsigned parts, struct error *e)
    __attribute__((warn_unused_result));
/* Closes in reverse order and wipes the key.  NULL is a no-op. */
void context_free(struct context *c);

/* Writes an audit event (fields consumed) under the policy above: 0 when
 * written or when audit is not required; otherwise -errno with e set
 * ("audit log PATH: the line could not be written"). */
int context_audit(struct context *c, const char *event, cJSON *fields,
		  struct error *e);
/* Applies the policy to a failure already seen (an audit call made
 * elsewhere returned r < 0): 0 with a warning printed once when audit is
 * not required, else r with e set. */
int context_audit_failed(struct context *c, int r, struct error *e);

#endif
