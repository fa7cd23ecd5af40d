/* aws-static: long-lived access keys from the sealed store.
 *
 * `secret = NAME` names a store entry with access_key_id and
 * secret_access_key.  `secret_file = PATH` reads the same fields from a
 * plain file of `field = value` lines; it exists for tests and must be
 * private to the owner (0600).
 */
#include "core/provider.h"
#include "core/secmem.h"
#include "crypto/store.h"
#include "core/config.h"

#include <errno.h>
#include <fcntl.h>
#include <ini.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static const char *const keys[] = {"secret", "secret_file", NULL};
static const char *const fields[] = {"access_key_id", "secret_access_key",
				     "session_token", NULL};

/* Exactly one of the two, parsed once. */
struct static_state {
	char *entry;	   /* `secret =`: a store entry name */
	char *secret_file; /* `secret_file =`, expanded */
};

static void free_state(void *p)
{
	struct static_state *st = p;

	if (!st)
		return;
	free(st->entry);
	free(st->secret_file);
	free(st);
}

static int parse(const struct cfg_section *s, struct diag *diag, void **state)
{
	const char *a = cfg_get(s, "secret"), *b = cfg_get(s, "secret_file");
	struct static_state *st;

	if (!a == !b) {
		cfg_error(diag, s->line,
			  "profile %s: aws-static needs exactly one of "
			  "'secret = STORE_ENTRY' or 'secret_file = PATH'",
			  s->name);
		return -EINVAL;
	}
	if (!(st = calloc(1, sizeof(*st))))
		return -ENOMEM;
	if (a)
		st->entry = strdup(a);
	else
		st->secret_file = config_expand_path(b);
	if (!st->entry && !st->secret_file) {
		free_state(st);
		return -ENOMEM;
	}
	*state = st;
	return 0;
}

static int fetch(const struct provider_req *req, struct cred **out,
		 struct error *e)
{
	const struct static_state *st = req->state;
	const char *name = st ? st->entry : NULL;
	const char *file = st ? st->secret_file : NULL;
	struct cred *c = NULL;
	int r;

	if (!name && !file)
		return error_set(e, EINVAL, "no secret or secret_file");
	if (name) {
		if (!req->store) {
			error_set(e, ENOKEY,
				  "store entry %s: the store is not open",
				  name);
			return -ENOKEY;
		}
		r = store_get(req->store, name, &c, e);
		if (r < 0) {
			if (r == -ENOENT)
				error_set(e, ENOENT, "store entry %s: %s",
					  name, strerror(ENOENT));
			else
				error_prefix(e, "store entry %s", name);
			return r;
		}
	} else {
		if (!(c = cred_new()))
			return -ENOMEM;
		if ((r = cred_read_file(file, c, e)) < 0)
			goto out;
	}
	for (size_t i = 0; i < 2; i++) {
		const char *v = cred_get(c, fields[i]);
		if (!v || !*v) {
			error_set(e, EINVAL, "%s %s: no %s",
				  name ? "store entry" : "secret_file",
				  name ? name : file, fields[i]);
			r = -EINVAL;
			goto out;
		}
	}
	cred_set_expiration(c, 0);
	cred_set_obtained(c, time(NULL));
	*out = c;
	c = NULL; /* transferred */
	r = 0;
out:
	cred_unref(c);
	return r;
}

const struct provider_ops provider_aws_static = {
    .name = "aws-static",
    .keys = keys,
    .source = PROVIDER_SOURCE_NONE,
    /* the key is long-lived and sealed in the store already */
    .cacheable = false,
    .fields = fields,
    .parse = parse,
    .free_state = free_state,
    .fetch = fetch,
};
