/* audit_cmd: `credfs audit verify|tail|report`, reading the log back.
 *
 * Each prints to out and returns the process exit status (0 ok, 1 the log
 * is broken or unreadable, 2 a bad argument).
 */
#ifndef CREDFS_AUDIT_CMD_H
#define CREDFS_AUDIT_CMD_H

#include <stdbool.h>
#include <stdio.h>

/* Checks the hash chain; names the first broken line and how. */
int audit_cmd_verify(const char *path, FILE *out);
/* The chain, then the forward-secure seals with the verification key (64
 * hex digits): forged or edited lines, removed epochs, a cut end (against
 * the writer's state), a replaced log, each with its line and epoch. */
int audit_cmd_verify_key(const char *path, const char *key_hex, FILE *out);
/* Starts sealing the log (access/audit_seal.h) and prints the
 * verification key, once. */
int audit_cmd_seal_setup(const char *path, FILE *out);
/* Prints the lines for a person; follow: wait for more (and reopen a
 * rotated or truncated log). */
int audit_cmd_tail(const char *path, bool follow, FILE *out);
/* Who read what: per key id (all, or key_id), since an RFC 3339 time or a
 * duration back from now (NULL: all). */
int audit_cmd_report(const char *path, const char *key_id, const char *since,
		     FILE *out);

#endif
