/* exec: the credential_process output parser, exposed for fuzzing. */
#ifndef CREDFS_EXEC_H
#define CREDFS_EXEC_H

#include <stddef.h>

struct cred;
struct error;

/* Parses a command's stdout: 0 and *res (cred_unref it), or -EBADMSG
 * with e set. */
int exec_parse_output(const char *out, size_t len, struct cred **res,
		      struct error *e) __attribute__((warn_unused_result));

#endif
