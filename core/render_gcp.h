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

/* The three formats; 0, or -EIO with err set, or -ENOMEM. */
int render_gcp(const struct render_input *in, struct secbuf *out,
	       struct error *err) __attribute__((warn_unused_result));

#endif
