/* azure: what the Azure providers expose beyond their ops tables (the
 * answer readers, for the fuzz target fuzz/fuzz_azure.c). */
#ifndef CREDFS_AZURE_H
#define CREDFS_AZURE_H

#include <time.h>

struct cJSON;
struct cred;
struct error;

/* A Key Vault "get secret" answer {value, attributes{enabled, exp}} into
 * *res (expiring at exp or lifetime seconds after now, whichever is
 * first), or -EPROTO/-EACCES/-EKEYEXPIRED with e set.  what names the
 * secret in errors. */
int az_kv_answer(const char *what, const struct cJSON *j, int lifetime,
		 time_t now, struct cred **res, struct error *e);

#endif
