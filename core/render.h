/* render: the bytes of a virtual file, from the credentials it shows.
 *
 * Rendering is pure: it reads the credentials it is given and writes into
 * a secbuf (secret memory) that the caller owns and wipes.
 */
#ifndef CREDFS_RENDER_H
#define CREDFS_RENDER_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "core/secmem.h"

struct cred;
struct file_cfg;

struct render_profile {
	const char *label;	 /* section name in the file */
	const char *profile;	 /* profile name */
	const struct cred *cred; /* NULL if it cannot be served */
	const char *why;	 /* reason when cred is NULL */
	bool hidden;		 /* per-caller view: not shown at all */
};

struct render_input {
	const struct file_cfg *file;
	size_t n;
	const struct render_profile *p;
	time_t now;
	const char *mountpoint; /* where the mount is, or NULL */
};

struct error;

/* 0 and out filled, or -EIO with err set (a single-credential format whose
 * credential cannot be served, a template that does not resolve), or
 * -EACCES when no profile is admitted. */
int render_file_e(const struct render_input *in, struct secbuf *out,
		  struct error *err) __attribute__((warn_unused_result));
/* The same with the message formatted into err (old interface). */
int render_file(const struct render_input *in, struct secbuf *out, char *err,
		size_t errlen) __attribute__((warn_unused_result));

/* true if v can be written into a file: no control character, not empty. */
bool render_value_ok(const char *v);

/* core/render_lines.c: pem, pgpass, netrc. */
struct cfg_section;
struct diag;
struct render_profile;
/* Reads and checks the file keys host, port, database (pgpass) and
 * machine (netrc) into f; fmt is the file's format or -1. */
void render_lines_config(const struct cfg_section *s, struct file_cfg *f,
			 int fmt, struct diag *d);
int render_pem(const struct render_profile *rp, struct secbuf *b,
	       struct error *err);
int render_pgpass(const struct file_cfg *f, const struct render_profile *rp,
		  struct secbuf *b, struct error *err);
int render_netrc(const struct file_cfg *f, const struct render_profile *rp,
		 struct secbuf *b, struct error *err);

#endif
