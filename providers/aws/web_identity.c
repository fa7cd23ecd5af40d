/* aws-web-identity: AssumeRoleWithWebIdentity, unsigned, with an OIDC
 * token read from token_file or taken from the source profile's
 * credential (access_token or id_token, or token_field). */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/config.h"
#include "core/provider.h"
#include "core/secmem.h"
#include "core/util.h"
#include "providers/aws/sts.h"
#include "providers/aws/sts_provider.h"

#define ACTION "AssumeRoleWithWebIdentity"

struct web_identity_state {
	char *role_arn;
	char *session_name; /* template, or NULL: the default */
	char *token_file;   /* expanded, or NULL: from the source */
	char *token_field;  /* or NULL: access_token, then id_token */
	int duration;	    /* seconds */
};

static void free_state(void *p)
{
	struct web_identity_state *st = p;

	if (!st)
		return;
	free(st->role_arn);
	free(st->session_name);
	free(st->token_file);
	free(st->token_field);
	free(st);
}

static int parse(const struct cfg_section *s, struct diag *d, void **state)
{
	const char *file = cfg_get(s, "token_file");
	const char *src = cfg_get(s, "source");
	struct web_identity_state *st;
	int secs, r = 0;

	sts_parse_common(s, d);
	sts_check_role_arn(s, d);
	if (sts_parse_duration(s, d, 3600, 900, 43200, &secs) < 0)
		r = -EINVAL;
	if ((!file || !*file) && (!src || !*src)) {
		cfg_error(d, s->line,
			  "aws-web-identity needs token_file or source");
		r = -EINVAL;
	}
	if (file && *file && src && *src) {
		cfg_error(d, cfg_line(s, "token_file"),
			  "token_file and source are exclusive");
		r = -EINVAL;
	}
	if (r < 0)
		return r;
	if (!(st = calloc(1, sizeof(*st))))
		return -ENOMEM;
	st->duration = secs;
	st->role_arn = cfg_strdup(s, "role_arn");
	st->session_name = sts_dup_present(s, "session_name");
	st->token_field = cfg_strdup(s, "token_field");
	if (file && *file && !(st->token_file = config_expand_path(file))) {
		free_state(st);
		return -ENOMEM;
	}
	*state = st;
	return 0;
}

static int read_token_file(const char *path, char **out, struct error *e)
{
	char *buf = NULL;
	size_t len = 0, s = 0, end;
	int fd, r;

	*out = NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		r = -errno;
		return error_set(e, -r, ACTION ": token_file %s: %s", path,
				 strerror(-r));
	}
	r = util_read_fd_secret(fd, STS_MAX_TOKEN, &buf, &len);
	close(fd);
	if (r == -EFBIG)
		return error_set(e, EFBIG,
				 ACTION ": token_file %s is larger than %d "
					"bytes",
				 path, STS_MAX_TOKEN);
	if (r < 0)
		return error_set(e, -r, ACTION ": read %s: %s", path,
				 strerror(-r));
	end = len;
	while (s < end && isspace((unsigned char)buf[s]))
		s++;
	while (end > s && isspace((unsigned char)buf[end - 1]))
		end--;
	if (s == end)
		r = error_set(e, ENODATA, ACTION ": token_file %s is empty",
			      path);
	else if (!(*out = secmem_strndup(buf + s, end - s)))
		r = -ENOMEM;
	secmem_free(buf);
	return r;
}

static int token(const struct provider_req *req,
		 const struct web_identity_state *st, char **tok,
		 struct error *e)
{
	const char *field = st->token_field;
	const char *v = NULL;

	*tok = NULL;
	if (st->token_file)
		return read_token_file(st->token_file, tok, e);
	if (!req->source)
		return error_set(e, EINVAL,
				 ACTION ": needs token_file or a source "
					"profile");
	if (field) {
		v = cred_get(req->source, field);
	} else {
		v = cred_get(req->source, "access_token");
		if (!v)
			v = cred_get(req->source, "id_token");
		field = "access_token or id_token";
	}
	if (!v || !*v)
		return error_set(e, ENODATA,
				 ACTION ": source credential has no %s field",
				 field);
	*tok = secmem_strdup(v);
	return *tok ? 0 : -ENOMEM;
}

static int fetch(const struct provider_req *req, struct cred **out,
		 struct error *e)
{
	const struct web_identity_state *st = req->state;
	struct secbuf form = {0};
	char *tok = NULL, name[65];
	int r;

	if (!st || !st->role_arn)
		return error_set(e, EINVAL, ACTION ": role_arn is not set");
	if ((r = token(req, st, &tok, e)) < 0)
		return r;
	sts_role_session_name(req, st->session_name, name, sizeof(name));
	if ((r = sts_form_add(&form, "Action", ACTION)) < 0 ||
	    (r = sts_form_add(&form, "Version", STS_VERSION)) < 0 ||
	    (r = sts_form_add(&form, "RoleArn", st->role_arn)) < 0 ||
	    (r = sts_form_add(&form, "RoleSessionName", name)) < 0 ||
	    (r = sts_form_add_int(&form, "DurationSeconds", st->duration)) <
		0 ||
	    (r = sts_form_add(&form, "WebIdentityToken", tok)) < 0)
		goto out;
	/* unsigned: the token is the authentication */
	r = sts_fetch(req, ACTION, &form, NULL, out, e);
out:
	if (r == -ENOMEM)
		error_set(e, ENOMEM, ACTION ": out of memory");
	secmem_free(tok);
	secbuf_wipe(&form);
	return r;
}

static const char *const keys[] = {
    "role_arn", "session_name", "duration", "token_file", "token_field", NULL,
};
static const char *const required[] = {"role_arn", NULL};

const struct provider_ops provider_aws_web_identity = {
    .name = "aws-web-identity",
    .keys = keys,
    .required = required,
    .source = PROVIDER_SOURCE_OPTIONAL,
    .cacheable = true,
    .fields = sts_fields,
    .parse = parse,
    .free_state = free_state,
    .fetch = fetch,
};
