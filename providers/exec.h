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

/* A bounded, one-line excerpt of what a command wrote to stderr, with
 * whatever looks like a secret replaced by "[redacted]": the value of a
 * key=value pair, a JSON string member's value, any run of 16 or more
 * base64/hex/key-id characters.  out is NUL-terminated. */
void exec_stderr_excerpt(const char *in, size_t len, char *out, size_t outlen);

#endif
