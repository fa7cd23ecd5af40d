/* rules: a file's allow/deny rules, parsed once from the config.
 *
 * See access/policy.c for how they decide; this file only parses and checks.
 */
#include "core/util.h"
#include "core/rules.h"

#include <ctype.h>
#include <errno.h>
#include <fnmatch.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct rules *rules_new(uid_t owner)
{
	struct rules *p = calloc(1, sizeof(*p));

	if (p)
		p->owner = owner;
	return p;
}

static void rule_clear(struct rule *r)
{
	size_t i;

	for (i = 0; i < r->nm; i++)
		free(r->m[i].glob);
	free(r->m);
	for (i = 0; i < r->nprofiles; i++)
		free(r->profiles[i]);
	free(r->profiles);
	free(r->text);
	memset(r, 0, sizeof(*r));
}

void rules_free(struct rules *p)
{
	size_t i;

	if (!p)
		return;
	for (i = 0; i < p->nrules; i++)
		rule_clear(&p->rules[i]);
	free(p->rules);
	free(p);
}

void rules_set_deny_traced(struct rules *p, bool on)
{
	p->deny_traced = on;
	if (on)
		p->needs |= CALLER_NEED_STATUS;
}

void rules_set_deny_preload(struct rules *p, bool on)
{
	p->deny_preload = on;
	if (on)
		p->needs |= CALLER_NEED_ENVIRON;
	else
		p->needs &= ~CALLER_NEED_ENVIRON;
}

size_t rules_count(const struct rules *p)
{
	return p->nrules;
}

unsigned rules_needs(const struct rules *p)
{
	return p ? p->needs : 0;
}

static bool parse_number(const char *s, unsigned long *out)
{
	char *end;

	if (!isdigit((unsigned char)*s))
		return false;
	errno = 0;
	*out = strtoul(s, &end, 10);
	return !errno && !*end && *out < 0xffffffffUL;
}

static int lookup_uid(const char *v, uid_t *out)
{
	struct passwd pw, *res = NULL;
	unsigned long n;
	char buf[4096];

	if (parse_number(v, &n)) {
		*out = (uid_t)n;
		return 0;
	}
	if (getpwnam_r(v, &pw, buf, sizeof(buf), &res) != 0 || !res)
		return -ENOENT;
	*out = res->pw_uid;
	return 0;
}

static int lookup_gid(const char *v, gid_t *out)
{
	struct group gr, *res = NULL;
	unsigned long n;
	char *buf;
	int r;

	if (parse_number(v, &n)) {
		*out = (gid_t)n;
		return 0;
	}
	/* Group entries list members and can be large. */
	buf = malloc(65536);
	if (!buf)
		return -ENOMEM;
	r = getgrnam_r(v, &gr, buf, 65536, &res);
	if (r == 0 && res)
		*out = res->gr_gid;
	free(buf);
	return r == 0 && res ? 0 : -ENOENT;
}

static bool parse_sha(const char *v, uint8_t out[static 32])
{
	size_t i;

	if (strlen(v) != 64)
		return false;
	for (i = 0; i < 32; i++) {
		int hi = util_unhex_digit(v[2 * i]), lo = util_unhex_digit(v[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return false;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return true;
}

static int parse_profiles(struct rule *r, const char *v, char *err,
			  size_t errlen)
{
	const char *s = v, *comma;
	size_t len, i;
	char **list;

	if (r->profiles) {
		snprintf(err, errlen, "profiles: given twice");
		return -EINVAL;
	}
	for (;;) {
		comma = strchr(s, ',');
		len = comma ? (size_t)(comma - s) : strlen(s);
		if (!len) {
			snprintf(err, errlen, "profiles: empty profile name");
			return -EINVAL;
		}
		list = realloc(r->profiles,
			       (r->nprofiles + 1) * sizeof(*r->profiles));
		if (!list)
			return -ENOMEM;
		r->profiles = list;
		r->profiles[r->nprofiles] = strndup(s, len);
		if (!r->profiles[r->nprofiles])
			return -ENOMEM;
		for (i = 0; i < r->nprofiles; i++) {
			if (!strcmp(r->profiles[i],
				    r->profiles[r->nprofiles])) {
				snprintf(err, errlen,
					 "profiles: '%s' listed twice",
					 r->profiles[i]);
				free(r->profiles[r->nprofiles]);
				return -EINVAL;
			}
		}
		r->nprofiles++;
		if (!comma)
			return 0;
		s = comma + 1;
	}
}

static bool glob_ok(const char *v)
{
	return v[0] == '/' || v[0] == '*' || v[0] == '?' || v[0] == '[';
}

/* One "name:value" token into r. */
static int parse_token(struct rule *r, char *tok, char *err, size_t errlen)
{
	struct matcher m = {0};
	struct matcher *arr;
	char *colon = strchr(tok, ':');
	const char *name, *v;

	if (!colon) {
		snprintf(err, errlen,
			 "'%s' is not a matcher (uid:, gid:, exe:, "
			 "exe_sha256:, ancestor:, cgroup:, profiles:)",
			 tok);
		return -EINVAL;
	}
	*colon = '\0';
	name = tok;
	v = colon + 1;
	if (strcmp(name, "uid") && strcmp(name, "gid") && strcmp(name, "exe") &&
	    strcmp(name, "exe_sha256") && strcmp(name, "ancestor") &&
	    strcmp(name, "cgroup") && strcmp(name, "profiles")) {
		snprintf(err, errlen, "unknown matcher '%s:'", name);
		return -EINVAL;
	}
	if (!*v) {
		snprintf(err, errlen, "matcher '%s:' has no value", name);
		return -EINVAL;
	}
	if (!strcmp(name, "profiles")) {
		if (!r->allow) {
			snprintf(err, errlen,
				 "profiles: only makes sense in an allow rule");
			return -EINVAL;
		}
		return parse_profiles(r, v, err, errlen);
	}
	if (!strcmp(name, "uid")) {
		m.kind = M_UID;
		if (lookup_uid(v, &m.uid) < 0) {
			snprintf(err, errlen, "uid '%s' is not a user", v);
			return -EINVAL;
		}
	} else if (!strcmp(name, "gid")) {
		m.kind = M_GID;
		if (lookup_gid(v, &m.gid) < 0) {
			snprintf(err, errlen, "gid '%s' is not a group", v);
			return -EINVAL;
		}
	} else if (!strcmp(name, "exe_sha256")) {
		m.kind = M_SHA256;
		if (!parse_sha(v, m.sha)) {
			snprintf(err, errlen,
				 "exe_sha256: expects 64 hex digits, got %zu "
				 "characters",
				 strlen(v));
			return -EINVAL;
		}
	} else {
		m.kind = !strcmp(name, "exe")	     ? M_EXE
			 : !strcmp(name, "ancestor") ? M_ANCESTOR
						     : M_CGROUP;
		if (!glob_ok(v)) {
			snprintf(err, errlen,
				 "%s: '%s' must be an absolute path or glob "
				 "(start with '/' or a wildcard)",
				 name, v);
			return -EINVAL;
		}
		m.glob = strdup(v);
		if (!m.glob)
			return -ENOMEM;
		m.fnm_flags = strstr(v, "**") ? 0 : FNM_PATHNAME;
	}
	arr = realloc(r->m, (r->nm + 1) * sizeof(*r->m));
	if (!arr) {
		free(m.glob);
		return -ENOMEM;
	}
	r->m = arr;
	r->m[r->nm++] = m;
	return 0;
}

static int matcher_cmp(const void *a, const void *b)
{
	const struct matcher *x = a, *y = b;

	return (int)x->kind - (int)y->kind;
}

int rules_add(struct rules *p, bool allow, const char *spec, int line,
		    char *err, size_t errlen)
{
	struct rule r = {.allow = allow, .line = line};
	struct rule *arr;
	char *copy = NULL, *tok, *save = NULL;
	size_t textlen, i;
	int ret;
	char dummy[1];

	if (!err || !errlen) {
		err = dummy;
		errlen = sizeof(dummy);
	}
	err[0] = '\0';
	copy = strdup(spec ? spec : "");
	textlen = strlen(allow ? "allow" : "deny") + 1;
	r.text = malloc(textlen + strlen(spec ? spec : "") + 1);
	if (!copy || !r.text) {
		ret = -ENOMEM;
		goto out;
	}
	strcpy(r.text, allow ? "allow" : "deny");
	for (tok = strtok_r(copy, " \t\r\n", &save); tok;
	     tok = strtok_r(NULL, " \t\r\n", &save)) {
		strcat(r.text, " ");
		strcat(r.text, tok);
		if ((ret = parse_token(&r, tok, err, errlen)) < 0)
			goto out;
	}
	if (!r.nm) {
		snprintf(err, errlen,
			 r.nprofiles ? "rule has no matcher (only profiles:)"
				     : "empty rule");
		ret = -EINVAL;
		goto out;
	}
	/* Stable enough: equal kinds keep their relative cost. */
	qsort(r.m, r.nm, sizeof(*r.m), matcher_cmp);
	arr = realloc(p->rules, (p->nrules + 1) * sizeof(*p->rules));
	if (!arr) {
		ret = -ENOMEM;
		goto out;
	}
	p->rules = arr;
	for (i = 0; i < r.nm; i++) {
		if (r.m[i].kind == M_ANCESTOR)
			p->needs |= CALLER_NEED_ANCESTORS;
		else if (r.m[i].kind == M_CGROUP)
			p->needs |= CALLER_NEED_CGROUP;
		else if (r.m[i].kind == M_GID)
			p->needs |= CALLER_NEED_STATUS;
	}
	p->rules[p->nrules++] = r;
	memset(&r, 0, sizeof(r)); /* transferred */
	ret = 0;
out:
	if (ret == -ENOMEM && !err[0])
		snprintf(err, errlen, "out of memory");
	rule_clear(&r);
	free(copy);
	return ret;
}

int rules_check_profiles(const struct rules *p, const char *const *labels,
			  size_t nlabels, int *line, char *err, size_t errlen)
{
	size_t i, j, k;

	for (i = 0; i < p->nrules; i++) {
		const struct rule *r = &p->rules[i];

		for (j = 0; j < r->nprofiles; j++) {
			for (k = 0; k < nlabels; k++)
				if (!strcmp(labels[k], r->profiles[j]))
					break;
			if (k == nlabels) {
				if (line)
					*line = r->line;
				snprintf(err, errlen,
					 "profiles: '%s' is not shown by this "
					 "file",
					 r->profiles[j]);
				return -EINVAL;
			}
		}
	}
	return 0;
}
