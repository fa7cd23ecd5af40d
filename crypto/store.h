/* store: sealed source secrets and the sealed credential cache, in
 * state_dir.  Every file is a sealed file (sealed.h) whose associated data
 * binds its kind ("store" or "cache") and name.
 *
 * Layout: state_dir/store/NAME.sealed, state_dir/cache/PROFILE.sealed,
 * state_dir/manifest.sealed (generation of every file: catches the replay
 * of an older copy of one file, not a rollback of the whole state_dir; see
 * store.c), state_dir/lock (writers' flock), state_dir/kdf.json (key.c).
 * A file that fails to open is renamed to FILE.bad-UNIXTIME.
 */
#ifndef CREDFS_STORE_H
#define CREDFS_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct cred;
struct config;
struct store;

struct error; /* core/error.h: e->msg names the file and the cause */

/* key is borrowed and must outlive the store. */
int store_open(const char *state_dir, const uint8_t *key, struct store **out,
	       struct error *e) __attribute__((warn_unused_result));
void store_free(struct store *s);

/* Source secrets.  -ENOENT if absent; -EBADMSG if the sealed file fails to
 * open (it is then set aside and e says so). */
int store_get(struct store *s, const char *name, struct cred **out,
	       struct error *e) __attribute__((warn_unused_result));
int store_put(struct store *s, const char *name, const struct cred *c,
	      struct error *e) __attribute__((warn_unused_result));
int store_remove(struct store *s, const char *name);

/* Credential cache, one sealed file per profile. */
int store_cache_load(struct store *s, const char *profile, struct cred **out,
		      struct error *e) __attribute__((warn_unused_result));
int store_cache_save(struct store *s, const char *profile,
		      const struct cred *c, struct error *e)
    __attribute__((warn_unused_result));

int store_cache_remove(struct store *s, const char *profile);

/* Valid store entry and cache profile names: [A-Za-z0-9_.@-]+, at most
 * STORE_NAME_MAX characters, no leading '.'. */
#define STORE_NAME_MAX 128
bool store_name_valid(const char *name);
/* Names of the store entries, sorted; *names is malloc'd (store_list_free). */
int store_list(struct store *s, char ***names, size_t *n)
    __attribute__((warn_unused_result));
void store_list_free(char **names, size_t n);

/* Audit hook, process-wide: called after a successful store_put ("store",
 * name) and store_remove ("store_rm", name), and whenever a sealed file
 * fails its integrity check ("integrity", "store/NAME", "cache/PROFILE" or
 * "manifest") -- a bad file, a replayed older copy, or a missing or bad
 * manifest while entries exist.  name never holds a secret. */
/* Rollback anchor, process-wide: the manifest's generation recorded where
 * the state directory's files cannot take it back (the audit chain).  get
 * returns the highest recorded (0: none); put records a new one after each
 * manifest write.  A manifest behind the anchor (rolled back with its
 * files, or deleted) refuses every read and write of the store and cache
 * with EBADMSG and an "integrity" event, until store_reanchor. */
struct store_anchor {
	unsigned long long (*get)(void *arg);
	int (*put)(void *arg, unsigned long long gen);
	void *arg;
};
void store_set_anchor(const struct store_anchor *a);
/* Accepts the state directory as it is: rewrites the manifest above the
 * anchor (an operator's decision after a restore). */
int store_reanchor(struct store *s, struct error *e)
    __attribute__((warn_unused_result));

typedef void (*store_event_fn)(const char *event, const char *name, void *arg);
void store_set_event_hook(store_event_fn fn, void *arg);

#endif
