/* rules: the typed form of a [file]'s `allow =` / `deny =` lines.
 *
 * Parsed once by the config; access/policy.c decides with them.
 */
#ifndef CREDFS_RULES_H
#define CREDFS_RULES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Parts of a caller's identity a rule may look at (see access/caller.h). */
#define CALLER_NEED_CMDLINE 0x1u
#define CALLER_NEED_CGROUP 0x2u
#define CALLER_NEED_ANCESTORS 0x4u
#define CALLER_NEED_SHA256 0x8u /* hashed lazily by policy_decide */
#define CALLER_NEED_ALL 0xfu
/* The status file's parts (TracerPid, supplementary groups) read now, not
   taken from the identity cache: deny_traced and gid: rules need it. */
#define CALLER_NEED_STATUS 0x10u
/* The loader variables of /proc/PID/environ (deny_preload), read while
   the task is pinned; never cached. */
#define CALLER_NEED_ENVIRON 0x20u

enum matcher_kind {
	/* Evaluation order: cheapest first, so a rule that fails on uid
	 * never walks ancestors or hashes a binary. */
	M_UID,
	M_GID,
	M_EXE,
	M_CGROUP,
	M_ANCESTOR,
	M_SHA256,
};

struct matcher {
	enum matcher_kind kind;
	union {
		uid_t uid;
		gid_t gid;
		uint8_t sha[32];
	};
	char *glob;
	int fnm_flags;
};

struct rule {
	bool allow;
	int line;
	char *text;
	struct matcher *m;
	size_t nm;
	char **profiles; /* NULL: all */
	size_t nprofiles;
};

struct rules {
	uid_t owner;
	bool deny_traced;
	bool deny_preload; /* refuse a caller started with LD_PRELOAD etc. */
	unsigned needs;
	struct rule *rules;
	size_t nrules;
};

struct rules *rules_new(uid_t owner) __attribute__((warn_unused_result));
void rules_free(struct rules *p);
/* Parses one `allow =` / `deny =` value: matchers uid: gid: exe: exe_sha256:
 * ancestor: cgroup: profiles:.  -EINVAL with a reason in err. */
int rules_add(struct rules *p, bool allow, const char *spec, int line,
	      char *err, size_t errlen);
void rules_set_deny_traced(struct rules *p, bool on);
void rules_set_deny_preload(struct rules *p, bool on);
size_t rules_count(const struct rules *p);
/* CALLER_NEED_* parts some rule may look at. */
unsigned rules_needs(const struct rules *p);
/* For config checks: -EINVAL naming the first profiles: label of a rule
 * that is not among labels (the file's), with that rule's line. */
int rules_check_profiles(const struct rules *p, const char *const *labels,
			 size_t nlabels, int *line, char *err, size_t errlen);

#endif
