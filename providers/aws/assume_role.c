/* aws-assume-role: AssumeRole signed with the source profile's
 * credential; external_id, source_identity, session tags and MFA as the
 * profile says. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "core/provider.h"
#include "providers/aws/sts.h"
#include "providers/aws/sts_provider.h"

struct assume_role_state {
	char *role_arn;
	char *external_id;     /* or NULL */
	char *source_identity; /* or NULL */
	char *session_name;    /* template, or NULL: the default */
	char *mfa_serial;      /* or NULL */
	int duration;	       /* seconds */
	int ntags;
	char **tag_key; /* ntags each */
	char **tag_value;
};

static void free_state(void *p)
{
	struct assume_role_state *st = p;

	if (!st)
		return;
	free(st->role_arn);
	free(st->external_id);
	free(st->source_identity);
	free(st->session_name);
	free(st->mfa_serial);
	for (int i = 0; i < st->ntags; i++) {
		free(st->tag_key[i]);
		free(st->tag_value[i]);
	}
	free(st->tag_key);
	free(st->tag_value);
	free(st);
}

/* tags = "k=v k2=v2" into st. */
static int parse_tags(struct assume_role_state *st, const char *tags,
		      struct error *e)
{
	char *copy, *save = NULL, *tok;
	int r = 0;

	if (!tags || !*tags)
		return 0;
	if (!(copy = strdup(tags)))
		return -ENOMEM;
	for (tok = strtok_r(copy, " \t", &save); tok;
	     tok = strtok_r(NULL, " \t", &save)) {
		char *eq = strchr(tok, '=');

		if (!eq || eq == tok) {
			r = error_set(e, EINVAL,
				      "AssumeRole: tag \"%.64s\" is not "
				      "KEY=VALUE",
				      tok);
			goto out;
		}
		if (st->ntags + 1 > STS_MAX_TAGS) {
			r = error_set(e, EINVAL,
				      "AssumeRole: more than %d tags",
				      STS_MAX_TAGS);
			goto out;
		}
		*eq = 0;
		char **k = realloc(st->tag_key, (st->ntags + 1) * sizeof(*k));
		if (k)
			st->tag_key = k;
		char **v = realloc(st->tag_value, (st->ntags + 1) * sizeof(*v));
		if (v)
			st->tag_value = v;
		if (!k || !v) {
			r = -ENOMEM;
			goto out;
		}
		st->tag_key[st->ntags] = strdup(tok);
		st->tag_value[st->ntags] = strdup(eq + 1);
		st->ntags++;
		if (!st->tag_key[st->ntags - 1] ||
		    !st->tag_value[st->ntags - 1]) {
			r = -ENOMEM;
			goto out;
		}
	}
out:
	free(copy);
	return r;
}

static int parse(const struct cfg_section *s, struct diag *d, void **state)
{
	struct assume_role_state *st;
	struct error e;
	int secs, r = 0;

	sts_parse_common(s, d);
	sts_check_role_arn(s, d);
	if (sts_parse_duration(s, d, 3600, 900, 43200, &secs) < 0)
		r = -EINVAL;
	if (!(st = calloc(1, sizeof(*st))))
		return -ENOMEM;
	if (parse_tags(st, cfg_get(s, "tags"), &e) < 0) {
		cfg_error(d, cfg_line(s, "tags"), "%s", e.msg);
		r = -EINVAL;
	}
	if (r < 0) {
		free_state(st);
		return r;
	}
	st->duration = secs;
	st->role_arn = cfg_strdup(s, "role_arn");
	st->external_id = cfg_strdup(s, "external_id");
	st->source_identity = cfg_strdup(s, "source_identity");
	st->session_name = sts_dup_present(s, "session_name");
	st->mfa_serial = cfg_strdup(s, "mfa_serial");
	*state = st;
	return 0;
}

static int fetch(const struct provider_req *req, struct cred **out,
		 struct error *e)
{
	static const char action[] = "AssumeRole";
	const struct assume_role_state *st = req->state;
	struct secbuf form = {0};
	char name[65], key[64];
	int r;

	if ((r = sts_need_source(req, action, e)) < 0)
		return r;
	if (!st || !st->role_arn)
		return error_set(e, EINVAL, "%s: role_arn is not set", action);
	sts_role_session_name(req, st->session_name, name, sizeof(name));
	if ((r = sts_form_add(&form, "Action", action)) < 0 ||
	    (r = sts_form_add(&form, "Version", STS_VERSION)) < 0 ||
	    (r = sts_form_add(&form, "RoleArn", st->role_arn)) < 0 ||
	    (r = sts_form_add(&form, "RoleSessionName", name)) < 0 ||
	    (r = sts_form_add_int(&form, "DurationSeconds", st->duration)) < 0)
		goto out;
	if (st->external_id &&
	    (r = sts_form_add(&form, "ExternalId", st->external_id)) < 0)
		goto out;
	if (st->source_identity && (r = sts_form_add(&form, "SourceIdentity",
						     st->source_identity)) < 0)
		goto out;
	for (int i = 0; i < st->ntags; i++) {
		snprintf(key, sizeof(key), "Tags.member.%d.Key", i + 1);
		if ((r = sts_form_add(&form, key, st->tag_key[i])) < 0)
			goto out;
		snprintf(key, sizeof(key), "Tags.member.%d.Value", i + 1);
		if ((r = sts_form_add(&form, key, st->tag_value[i])) < 0)
			goto out;
	}
	if ((r = sts_add_mfa(req, st->mfa_serial, action, &form, e)) < 0)
		goto out;
	r = sts_fetch(req, action, &form, req->source, out, e);
out:
	if (r == -ENOMEM)
		error_set(e, ENOMEM, "%s: out of memory", action);
	secbuf_wipe(&form);
	return r;
}

static const char *const keys[] = {
    "role_arn",	  "external_id",     "session_name", "duration",
    "mfa_serial", "source_identity", "tags",	     NULL,
};
static const char *const required[] = {"role_arn", NULL};

const struct provider_ops provider_aws_assume_role = {
    .name = "aws-assume-role",
    .keys = keys,
    .required = required,
    .source = PROVIDER_SOURCE_REQUIRED,
    .cacheable = true,
    .fields = sts_fields,
    .parse = parse,
    .free_state = free_state,
    .fetch = fetch,
};
