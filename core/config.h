/* config: the INI configuration, parsed with libinih and checked whole.
 *
 * Every problem is collected as "FILE:LINE: message" so `credfs check`
 * reports all of them at once.
 */
#ifndef CREDFS_CONFIG_H
#define CREDFS_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include "core/provider.h"

struct rules;

struct cfg_kv {
	char *key;
	char *value;
	int line;
};

struct cfg_section {
	char *kind; /* "credfs", "profile", "file" */
	char *name; /* NULL for [credfs] */
	const char *file;
	int line;
	struct cfg_kv *kv;
	size_t nkv;
};

/* Last value of key in s, or NULL. */
const char *cfg_get(const struct cfg_section *s, const char *key);
/* A malloc'd copy of that value if set and not empty, else NULL (for
 * provider parse ops). */
char *cfg_strdup(const struct cfg_section *s, const char *key);
/* Line of that value, or the section's line. */
int cfg_line(const struct cfg_section *s, const char *key);

/* Diagnostics: collected errors, each formatted once as "FILE:LINE:
 * message" (or "FILE: message" without a line), with its line kept in
 * lines[] (0: none) for sorting. */
struct diag {
	char **msgs;
	int *lines;
	size_t n;
	const char *file;
};
void diag_add(struct diag *d, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Stable sort by line (config_load does it before returning). */
void diag_sort(struct diag *d);
void diag_free(struct diag *d);
/* The same as diag_add, for provider parse() ops. */
void cfg_error(struct diag *d, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

enum file_format {
	FMT_AWS_CREDENTIALS,
	FMT_AWS_PROCESS,
	FMT_ENV,
	FMT_JSON,
	FMT_TOKEN,
	FMT_TEMPLATE,
	FMT_GCP_ADC,
	FMT_PEM,
	FMT_PGPASS, /* core/render_lines.c */
	FMT_NETRC,
	FMT_GCLOUD_CONFIG,
	FMT_STATIC,
};

/* A file shows at most this many profiles (a long list may span several
 * `profiles =` lines). */
#define CONFIG_MAX_FILE_PROFILES 64

struct profile_cfg {
	char *name;
	const struct cfg_section *sec;
	const struct provider_ops *ops;
	int source; /* index into config.profiles, or -1 */
	/* endpoint, region, ca_file, timeout: parsed once */
	struct provider_common common;
	/* ops->parse's typed state, freed with free_state (kept apart from
	 * ops, so a test may swap ops) */
	void *state;
	void (*free_state)(void *state);
	/* Who may `credfs exec` it: exec_allow/exec_deny (default: the owner
	 * uid), deny_preload; exportable: a source root or long-lived key
	 * may be handed out (see config_exec_refused). */
	struct rules *exec_policy;
	bool exportable;
};

struct file_cfg {
	char *path; /* inside the mount, no leading '/' */
	const struct cfg_section *sec;
	enum file_format format;
	size_t nprof;
	char **labels; /* section name shown in the file */
	int *prof;     /* index into config.profiles */
	mode_t mode;
	bool per_caller;
	bool cache_kernel;
	char *field;  /* token: which field */
	bool newline; /* token: trailing newline */
	char **vars;  /* env: "NAME=field" pairs, NULL-ended, or NULL */
	char *template_path;
	struct rules *policy;
	/* pgpass: host, port, database ("*" when not set); netrc: machine
	 * (NULL: a `default` entry).  Point into sec. */
	const char *host, *port, *database, *machine;
	struct file_gcp *gcp; /* gcp-adc, gcloud-config, static */
};

struct config {
	char *path;
	const struct provider_ops *const
	    *providers; /* as given to config_load */
	struct cfg_section *sec;
	size_t nsec;

	char *state_dir;
	char *key_spec; /* "passphrase" or "keyfile:PATH" */
	char *passphrase_file;
	char *audit_log;  /* path or "syslog" */
	char *audit_sync; /* "always", "batch" (default), "none" */
	bool audit_required;
	/* Rotation (access/audit_rotate.c): 0 = off / keep all. */
	long long audit_max_size; /* bytes */
	int audit_max_age;	  /* seconds */
	int audit_keep;		  /* rotated segments kept */
	bool allow_other;
	bool deny_traced;
	bool deny_preload; /* default of files' and profiles' deny_preload */
	int refresh_before; /* seconds */
	int open_timeout;   /* seconds */
	uid_t owner;
	char *mountpoint; /* set by the mounting daemon, or NULL */

	struct profile_cfg *profiles;
	size_t nprofiles;
	struct file_cfg *files;
	size_t nfiles;
};

/* Default path: $CREDFS_CONFIG, else $XDG_CONFIG_HOME/credfs/config. */
char *config_default_path(void);
/* Parses and checks.  On any problem returns -EINVAL with d filled; the
 * caller prints d and exits 2.  A missing file is -ENOENT (in d). */
int config_load(const char *path, const struct provider_ops *const *providers,
		struct config **out, struct diag *d);
void config_free(struct config *c);
int config_find_profile(const struct config *c, const char *name);
/* Why `credfs exec` never hands out profile idx ("a source of PROFILE",
 * "a long-lived key"), or NULL when it may (exportable = yes, or neither
 * the root of a source chain nor of a provider that is not cacheable). */
const char *config_exec_refused(const struct config *c, int idx, char *buf,
				size_t len);
const struct file_cfg *config_find_file(const struct config *c,
					const char *path);
/* Expands "~" and "$VAR"/"${VAR}"; malloc'd. */
char *config_expand_path(const char *s);
const char *format_name(enum file_format f);

#endif
