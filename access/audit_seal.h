/* audit_seal: forward-secure sealing of the audit log (issue 14, item 3).
 *
 * A sealed log's lines end with ,"ep":E,"mac":HEX}: an HMAC-SHA256, under
 * epoch E's key, of the line's bytes before ,"mac":.  The chain ("prev",
 * "seq") is unchanged, so the unkeyed `audit verify` still holds.
 *
 * Epoch 0's key is random at setup, printed once (the verification key, to
 * keep off the machine), and never stored.  Epoch E+1's key is
 * HMAC-SHA256(key E, "credfs audit epoch") and key E is erased, from memory
 * and from the state file "<log>.seal", when the epoch ends: after
 * AUDIT_SEAL_EPOCH_LINES lines or AUDIT_SEAL_EPOCH_SECONDS seconds.  The
 * epoch's last line is an "epoch_end" event, MAC'd with key E, naming the
 * epoch and its line count.  Whoever takes the machine later gets the key
 * of the epoch open then: lines of earlier epochs cannot be forged, and
 * removing or reordering them breaks a MAC or leaves an epoch without its
 * seal, which `audit verify --key` reports with the line and the epoch.
 * Limit: the open epoch's own last lines can be cut by that attacker (at
 * most one epoch's worth).
 */
#ifndef CREDFS_AUDIT_SEAL_H
#define CREDFS_AUDIT_SEAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define AUDIT_SEAL_EPOCH_LINES 1024
#define AUDIT_SEAL_EPOCH_SECONDS 60
/* No log reaches this epoch (eight years of one-minute epochs): a larger
 * number in a line or in the state is refused unread, since deriving its
 * key from the verification key takes one HMAC per epoch. */
#define AUDIT_SEAL_MAX_EPOCH (1ULL << 22)

struct audit_seal;

/* Starts sealing the log at log_path: writes "<log>.seal" (0600, refused
 * if it exists) and the verification key, 64 hex digits, into vkey_hex.
 * The next line written to the log is the first sealed one. */
int audit_seal_setup(const char *log_path, char vkey_hex[static 65])
    __attribute__((warn_unused_result));
/* The writer's state for log_path: -ENOENT if the log is not sealed. */
int audit_seal_load(const char *log_path, struct audit_seal **out)
    __attribute__((warn_unused_result));
void audit_seal_free(struct audit_seal *s);
/* Whether the open epoch should end now (line count or age). */
bool audit_seal_due(const struct audit_seal *s, bool by_time);
uint64_t audit_seal_epoch(const struct audit_seal *s);
/* Lines written in the open epoch. */
uint64_t audit_seal_lines(const struct audit_seal *s);
/* Whether no line was sealed yet (the first says where sealing begins). */
bool audit_seal_fresh(const struct audit_seal *s);
/* Seals line[0..*len) (a JSON object ending in '}'): appends ep and mac in
 * place; cap is line's size.  -ENOSPC if it does not fit. */
int audit_seal_line(struct audit_seal *s, char *line, size_t *len, size_t cap);
/* Reloads the state if another writer changed it (under the log's lock). */
int audit_seal_refresh(struct audit_seal *s);
/* Ends the epoch: derives the next key, stores it, erases the old. */
int audit_seal_advance(struct audit_seal *s);

/* For the verifier: key of epoch from the verification key. */
void audit_seal_key_at(const uint8_t vkey[static 32], uint64_t epoch,
		       uint8_t out[static 32]);
/* The next epoch's key from this one's (in place). */
void audit_seal_next_key(uint8_t key[static 32]);
/* Checks the MACs and epochs of a log's bytes with the verification key,
 * and its end against the writer's state next to log_path; prints what is
 * wrong, from which line and epoch, or what verified.  0 intact, 1 not.
 * anchored: data begins at a rotation's anchor segment, so its first
 * sealed line may be of any epoch (its MAC still must verify). */
int audit_seal_verify(const char *data, size_t size, const char *log_path,
		      const uint8_t vkey[static 32], bool anchored, FILE *out);
/* HMAC-SHA256 of data as 64 hex digits. */
void audit_seal_mac(const uint8_t key[static 32], const void *data, size_t len,
		    char hex[static 65]);

#endif
