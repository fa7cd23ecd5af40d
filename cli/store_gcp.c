/* store_gcp: a Google key file into the sealed store, the GCP twin of
 * import-aws.  Only the members a provider uses are sealed; no value is
 * ever printed (a message names the member, never what it holds). */
#include "cli/store_gcp.h"
#include "core/cred.h"
#include "core/error.h"
#include "core/secmem.h"
#include "core/util.h"
#include "crypto/store.h"
#include "providers/gcp/gcp.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* A key file is ~2.4 KiB; anything near this is not one. */
#define KEY_FILE_MAX (64 * 1024)

static const char *const sa_fields[] = {"client_email",	  "private_key",
					"private_key_id", "token_uri",
					"project_id",	  NULL};
static const char *const user_fields[] = {
    "client_id", "client_secret", "refresh_token", "quota_project_id", NULL};
static const char *const user_need[] = {"client_id", "client_secret",
					"refresh_token", NULL};

/* The fields of from into to; a value with a control character is
 * refused, except the PEM key's newlines. */
static int copy_fields(const struct cred *from, const char *const *fields,
		       struct cred *to, const char *what, struct error *e)
{
	for (size_t i = 0; fields[i]; i++) {
		const char *v = cred_get(from, fields[i]);
		bool pem = !strcmp(fields[i], "private_key");
		if (!v || !*v)
			continue;
		for (const unsigned char *p = (const unsigned char *)v; *p; p++)
			if ((*p < 0x20 && !(pem && *p == '\n')) || *p == 0x7f) {
				error_set(e, EINVAL,
					  "%s: %s holds a control character",
					  what, fields[i]);
				return -EINVAL;
			}
		if (cred_set(to, fields[i], v) < 0) {
			error_set(e, ENOMEM, "out of memory");
			return -ENOMEM;
		}
	}
	return 0;
}

/* The entry name when none is given: gcp-LOCALPART of the service
 * account, gcp-user for a user's refresh token. */
static void default_name(const struct cred *c, bool sa, char *buf, size_t len)
{
	const char *email = sa ? cred_get(c, "client_email") : NULL;
	size_t n = email ? strcspn(email, "@") : 0;

	if (n && n < 64)
		snprintf(buf, len, "gcp-%.*s", (int)n, email);
	else
		snprintf(buf, len, "gcp-user");
	if (!store_name_valid(buf))
		snprintf(buf, len, "gcp-%s", sa ? "service-account" : "user");
}

int store_import_gcp(struct store *s, const char *file, const char *name)
{
	char what[PATH_MAX + 16], entry[STORE_NAME_MAX + 8];
	struct cred *all = NULL, *keep = NULL;
	struct error e = {0};
	char *data = NULL;
	size_t len = 0;
	bool sa;
	int fd, r, rc = 1;

	snprintf(what, sizeof(what), "%s", file);
	if ((fd = open(file, O_RDONLY | O_CLOEXEC)) < 0) {
		error_set(&e, errno, "%s: %s", file, strerror(errno));
		goto fail;
	}
	r = util_read_fd_secret(fd, KEY_FILE_MAX, &data, &len);
	close(fd);
	if (r < 0) {
		error_set(&e, -r, "%s: %s", file,
			  r == -EFBIG ? "too large for a key file"
				      : strerror(-r));
		goto fail;
	}
	if (!(all = cred_new()) || !(keep = cred_new())) {
		error_set(&e, ENOMEM, "out of memory");
		goto fail;
	}
	if (gcp_secret_from_json(data, len, what, all, &e) < 0)
		goto fail;
	const char *type = cred_get(all, "type");
	if (!type) {
		error_set(&e, EINVAL,
			  "%s: no \"type\": not a Google key file (expected "
			  "service_account or authorized_user)",
			  file);
		goto fail;
	}
	sa = !strcmp(type, "service_account");
	if (!sa && strcmp(type, "authorized_user")) {
		error_set(&e, EINVAL,
			  "%s: type %s holds no long-lived secret to seal "
			  "(expected service_account or authorized_user)",
			  file, strlen(type) < 40 ? type : "(long)");
		goto fail;
	}
	if (sa) {
		if (gcp_key_check(all, what, &e) < 0 ||
		    copy_fields(all, sa_fields, keep, what, &e) < 0)
			goto fail;
	} else {
		for (size_t i = 0; user_need[i]; i++)
			if (!cred_get(all, user_need[i]) ||
			    !*cred_get(all, user_need[i])) {
				error_set(&e, EINVAL,
					  "%s: authorized_user without %s",
					  file, user_need[i]);
				goto fail;
			}
		if (copy_fields(all, user_fields, keep, what, &e) < 0)
			goto fail;
	}
	if (name)
		snprintf(entry, sizeof(entry), "%s", name);
	else
		default_name(all, sa, entry, sizeof(entry));
	if (!store_name_valid(entry)) {
		error_set(&e, EINVAL,
			  "store: invalid name (use letters, digits, _ . @ "
			  "-; no leading dot)");
		goto fail;
	}
	if (store_put(s, entry, keep, &e) < 0) {
		error_prefix(&e, "store %s", entry);
		goto fail;
	}
	printf("imported %s (%s%s%s)\n", entry,
	       sa ? "service account " : "authorized user",
	       sa ? cred_get(keep, "client_email") : "",
	       sa && cred_get(keep, "project_id") ? ", with project_id" : "");
	printf("Use it with:\n  [profile NAME]\n  provider = %s\n"
	       "  secret = %s\n",
	       sa ? "gcp-service-account" : "gcp-authorized-user", entry);
	printf("The plaintext copy is still at %s: remove it, e.g.\n"
	       "  shred -u %s\n",
	       file, file);
	rc = 0;
	goto out;
fail:
	fprintf(stderr, "credfs: store import-gcp: %s\n", e.msg);
out:
	cred_unref(all);
	cred_unref(keep);
	secmem_free(data);
	return rc;
}
