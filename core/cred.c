/* cred: a small, reference-counted set of secret fields. */
#include "core/error.h"
#include <unistd.h>
#include <sys/stat.h>
#include <fcntl.h>
#include <ini.h>
#include "core/cred.h"
#include "core/digest.h"
#include "core/util.h"
#include "core/secmem.h"

#include <cjson/cJSON.h>
#include <sodium.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CRED_MAX_FIELDS 32

struct cred_field {
	char *name;  /* plain malloc: field names are not secret */
	char *value; /* secmem */
};

struct cred {
	atomic_int refs;
	size_t n;
	struct cred_field f[CRED_MAX_FIELDS];
	time_t expiration;
	time_t obtained;
};

struct cred *cred_new(void)
{
	struct cred *c = calloc(1, sizeof(*c));
	if (c)
		atomic_init(&c->refs, 1);
	return c;
}

struct cred *cred_ref(struct cred *c)
{
	if (c)
		atomic_fetch_add(&c->refs, 1);
	return c;
}

void cred_unref(struct cred *c)
{
	if (!c || atomic_fetch_sub(&c->refs, 1) != 1)
		return;
	for (size_t i = 0; i < c->n; i++) {
		free(c->f[i].name);
		secmem_free(c->f[i].value);
	}
	free(c);
}

int cred_setn(struct cred *c, const char *field, const char *value, size_t len)
{
	char *v = secmem_strndup(value, len);
	if (!v)
		return -ENOMEM;
	for (size_t i = 0; i < c->n; i++) {
		if (strcmp(c->f[i].name, field) == 0) {
			secmem_free(c->f[i].value);
			c->f[i].value = v;
			return 0;
		}
	}
	if (c->n == CRED_MAX_FIELDS) {
		secmem_free(v);
		return -E2BIG;
	}
	char *n = strdup(field);
	if (!n) {
		secmem_free(v);
		return -ENOMEM;
	}
	c->f[c->n].name = n;
	c->f[c->n].value = v;
	c->n++;
	return 0;
}

int cred_set(struct cred *c, const char *field, const char *value)
{
	return cred_setn(c, field, value, strlen(value));
}

const char *cred_get(const struct cred *c, const char *field)
{
	if (!c)
		return NULL;
	for (size_t i = 0; i < c->n; i++)
		if (strcmp(c->f[i].name, field) == 0)
			return c->f[i].value;
	return NULL;
}

size_t cred_count(const struct cred *c)
{
	return c ? c->n : 0;
}

const char *cred_name_at(const struct cred *c, size_t i)
{
	return i < c->n ? c->f[i].name : NULL;
}

const char *cred_value_at(const struct cred *c, size_t i)
{
	return i < c->n ? c->f[i].value : NULL;
}

void cred_set_expiration(struct cred *c, time_t t)
{
	c->expiration = t;
}

time_t cred_expiration(const struct cred *c)
{
	return c ? c->expiration : 0;
}

void cred_set_obtained(struct cred *c, time_t t)
{
	c->obtained = t;
}

time_t cred_obtained(const struct cred *c)
{
	return c ? c->obtained : 0;
}

/* Fields whose value is the credential's public identifier. */
static const char *const id_fields[] = {"access_key_id", "client_id",
					"lease_id", NULL};
/* Fields whose hash identifies a bearer secret. */
static const char *const secret_fields[] = {
    "access_token", "token", "secret_access_key", "password", "id_token",
    "private_key",  NULL};

void cred_key_id(const struct cred *c, char *buf, size_t len)
{
	const char *v;

	for (size_t i = 0; id_fields[i]; i++) {
		if ((v = cred_get(c, id_fields[i])) && *v) {
			snprintf(buf, len, "%s", v);
			return;
		}
	}
	for (size_t i = 0; secret_fields[i]; i++) {
		if ((v = cred_get(c, secret_fields[i])) && *v) {
			uint8_t md[DIGEST_BYTES];
			digest_sha256(v, strlen(v), md);
			char hex[13];
			util_hex(md, 6, hex);
			snprintf(buf, len, "sha256:%s", hex);
			return;
		}
	}
	snprintf(buf, len, "-");
}

char *cred_to_json(const struct cred *c, size_t *len)
{
	/* cJSON allocations go through secmem (secmem_init_cjson). */
	cJSON *o = cJSON_CreateObject(), *f;
	char *txt = NULL, *out = NULL;

	if (!o)
		return NULL;
	if (!(f = cJSON_AddObjectToObject(o, "fields")))
		goto out;
	for (size_t i = 0; i < c->n; i++)
		if (!cJSON_AddStringToObject(f, c->f[i].name, c->f[i].value))
			goto out;
	cJSON_AddNumberToObject(o, "expiration", (double)c->expiration);
	cJSON_AddNumberToObject(o, "obtained", (double)c->obtained);
	if (!(txt = cJSON_PrintUnformatted(o)))
		goto out;
	out = secmem_strdup(txt);
	if (out && len)
		*len = strlen(out);
out:
	if (txt) {
		sodium_memzero(txt, strlen(txt));
		cJSON_free(txt);
	}
	cJSON_Delete(o);
	return out;
}

int cred_from_json(const char *json, size_t len, struct cred **out)
{
	cJSON *o = cJSON_ParseWithLength(json, len), *f, *it;
	struct cred *c = NULL;
	int r = -EBADMSG;

	if (!o || !cJSON_IsObject(o))
		goto out;
	f = cJSON_GetObjectItemCaseSensitive(o, "fields");
	if (!cJSON_IsObject(f))
		goto out;
	if (!(c = cred_new())) {
		r = -ENOMEM;
		goto out;
	}
	cJSON_ArrayForEach(it, f)
	{
		if (!cJSON_IsString(it) || !it->string)
			goto out;
		if ((r = cred_set(c, it->string, it->valuestring)) < 0)
			goto out;
		r = -EBADMSG;
	}
	it = cJSON_GetObjectItemCaseSensitive(o, "expiration");
	if (cJSON_IsNumber(it))
		c->expiration = util_clamp_ll(it->valuedouble, 0, UTIL_TIME_MAX);
	it = cJSON_GetObjectItemCaseSensitive(o, "obtained");
	if (cJSON_IsNumber(it))
		c->obtained = util_clamp_ll(it->valuedouble, 0, UTIL_TIME_MAX);
	*out = c;
	c = NULL; /* transferred */
	r = 0;
out:
	cred_unref(c);
	cJSON_Delete(o);
	return r;
}

/* The owner-only `field = value` file of `secret_file =` (tests only). */
static int file_handler(void *user, const char *section, const char *name,
			const char *value)
{
	return cred_set(user, name, value) == 0;
}

int cred_read_file(const char *path, struct cred *c, struct error *e)
{
	struct stat st;
	FILE *f = NULL;
	int r;

	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		r = -errno;
		error_set(e, EIO, "secret_file %s: %s", path, strerror(errno));
		goto out;
	}
	if (fstat(fd, &st) < 0 || (st.st_mode & 077) ||
	    st.st_uid != geteuid()) {
		r = -EPERM;
		error_set(e, EIO,
			  "secret_file %s: must be owned by you with mode 0600",
			  path);
		close(fd);
		goto out;
	}
	if (!(f = fdopen(fd, "r"))) {
		r = -errno;
		close(fd);
		goto out;
	}
	/* stdio buffers hold the secret briefly; setvbuf to a wiped one. */
	char *buf = secmem_alloc(BUFSIZ);
	if (buf)
		setvbuf(f, buf, _IOFBF, BUFSIZ);
	r = ini_parse_file(f, file_handler, c);
	fclose(f);
	secmem_free(buf);
	if (r != 0) {
		error_set(e, EINVAL,
			  "secret_file %s: line %d is not 'field = value'",
			  path, r);
		r = -EINVAL;
	}
out:
	return r;
}
