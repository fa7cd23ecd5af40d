/* render_gcp: the Google files of a mount that point at another file of
 * the same mount, and fixed-text files.
 *
 *  gcp-adc        an `external_account` ADC JSON (what every Google client
 *                 library reads) whose credential_source.file is a `token`
 *                 file of the mount holding the subject token; audience,
 *                 subject_token_type, token_url and impersonation from the
 *                 file's gcp-external-account profile.
 *  gcloud-config  a gcloud `configurations/config_NAME` with
 *                 [auth] access_token_file = the mount's token file and
 *                 [core] project / account.
 *  static         `content =` verbatim (gcloud's `active_config`: no
 *                 trailing newline).
 *
 * A reader needs an absolute path: the mountpoint joined with
 * `token_file`, or `mount_path =` where a container bind-mounts it.
 */
#ifndef CREDFS_RENDER_GCP_H
#define CREDFS_RENDER_GCP_H

#include "core/render.h"

#include <stdbool.h>

struct config;
struct diag;
struct error;

/* Typed once at config load, owned by the file_cfg. */
struct file_gcp {
	char *token_file; /* a token file of the mount (path inside it) */
	char *mount_path; /* where readers see the mount, or NULL */
	char *content;	  /* static */
	char *project, *account; /* gcloud-config, or NULL */
	/* gcp-adc, from the profile */
	char *audience, *subject_token_type, *token_url, *impersonation_url;
	int lifetime; /* seconds, 0: Google's default */
};

/* The file keys of these formats, checked after every file is read (a
 * token_file may be defined further down): problems into d. */
void render_gcp_check(struct config *c, struct diag *d);
void render_gcp_free(struct file_gcp *g);

/* gcloud-config and static hold no secret: the mounting daemon writes them
 * into the covered directory (render_gcp_seed) and serves them as ordinary
 * files, so gcloud can write them and its other configurations sit beside
 * them; they take no part in the virtual namespace. */
bool render_gcp_seeded(const struct file_cfg *f);

/* What to write for a seeded file f, given what the directory holds (old,
 * len; old NULL when absent): absent, the whole file; a gcloud-config
 * present, old with [auth] access_token_file pointed at the mount's token
 * file and [core] project / account added only where absent (a user's
 * `gcloud config set` outlives a remount); every other line as it was.
 * A static file present is left alone.  Returns 0 with out filled, 1 when
 * old is to stay as it is, or -EIO with err set, or -ENOMEM. */
int render_gcp_seed(const struct file_cfg *f, const char *mountpoint,
		    const char *old, size_t len, struct secbuf *out,
		    struct error *err) __attribute__((warn_unused_result));

/* The three formats; 0, or -EIO with err set, or -ENOMEM. */
int render_gcp(const struct render_input *in, struct secbuf *out,
	       struct error *err) __attribute__((warn_unused_result));

#endif
