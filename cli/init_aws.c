/* init_aws: map an AWS config's profiles to credfs ones (see init_aws.h
 * for the order botocore resolves them in).  Sources are mapped before the
 * profiles that use them, so the output lists a chain in order. */
#include "cli/init_aws.h"
#include "core/config.h"
#include "core/secmem.h"
#include "core/util.h"
#include "crypto/store.h"

#include <errno.h>
#include <fcntl.h>
#include <ini.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* credfs's config reader takes lines of at most this many bytes (inih's
 * line buffer less the newline and the NUL). */
#define INIT_MAX_LINE 198
#define INIT_MAX_INCLUDE 16
#define INIT_MAX_USED 64
#define INIT_MAX_INPUT (1024 * 1024)

struct ini_kv {
	char *key, *value;
};

struct ini_sec {
	char *kind, *name; /* "profile" "prod", "sso-session" "corp" */
	struct ini_kv *kv;
	size_t nkv;
};

struct prof {
	const char *name;	   /* borrowed from a section or creds[] */
	const struct ini_sec *sec; /* NULL: only in the credentials file */
	bool creds_keys;	   /* aws_access_key_id in credentials */
	int state;		   /* 0 to do, 1 being mapped, 2 done */
	bool served;		   /* a credfs profile of this name exists */
	const char *mfa;	   /* a session token made with this MFA */
	const char *used[INIT_MAX_USED];
	size_t nused;
};

struct init {
	const char *from;
	struct ini_sec *sec;
	size_t nsec;
	char **creds; /* section names of the credentials file with keys */
	size_t ncreds;
	bool oom;
	struct prof *p;
	size_t np;
	char **names; /* credfs profile names emitted */
	size_t nnames;
	FILE *body; /* the [profile] sections */
	size_t nleft, ncreds_used, nmfa, nsso;
};

/* Keys the AWS CLI reads for itself: not credfs's business, and the AWS
 * config stays readable through the mount. */
static const char cli_keys[] =
    " "
    "output region cli_pager cli_timestamp_format "
    "cli_follow_urlparam cli_auto_prompt cli_binary_format "
    "cli_history max_attempts retry_mode defaults_mode "
    "parameter_validation tcp_keepalive endpoint_url "
    "ignore_configured_endpoint_urls use_fips_endpoint "
    "use_dualstack_endpoint sts_regional_endpoints ca_bundle s3 "
    "sso_registration_scopes services metadata_service_timeout "
    "metadata_service_num_attempts ec2_metadata_service_endpoint "
    "ec2_metadata_service_endpoint_mode "
    "request_checksum_calculation response_checksum_validation "
    "account_id_endpoint_mode ";

static bool cli_key(const char *k)
{
	const char *p = strstr(cli_keys, k);

	return p && p[-1] == ' ' && p[strlen(k)] == ' ';
}

/* "profile prod" -> ("profile", "prod"); "default" -> the default
 * profile; "sso-session corp"; anything else keeps its words. */
static struct ini_sec *section(struct init *in, const char *hdr)
{
	size_t k = strcspn(hdr, " \t");
	char kind[64];
	const char *name = hdr + k;

	while (*name == ' ' || *name == '\t')
		name++;
	snprintf(kind, sizeof(kind), "%.*s", (int)k, hdr);
	if (!*name && !strcmp(kind, "default")) {
		snprintf(kind, sizeof(kind), "profile");
		name = "default";
	}
	for (size_t i = in->nsec; i-- > 0;)
		if (!strcmp(in->sec[i].kind, kind) &&
		    !strcmp(in->sec[i].name, name))
			return &in->sec[i];
	struct ini_sec *s = realloc(in->sec, (in->nsec + 1) * sizeof(*s));
	if (!s)
		return NULL;
	in->sec = s;
	s = &in->sec[in->nsec];
	*s = (struct ini_sec){.kind = strdup(kind), .name = strdup(name)};
	if (!s->kind || !s->name) {
		free(s->kind);
		free(s->name);
		return NULL;
	}
	in->nsec++;
	return s;
}

static int config_handler(void *user, const char *hdr, const char *key,
			  const char *value)
{
	struct init *in = user;
	struct ini_sec *s;
	struct ini_kv *kv;

	if (!key)
		return 1;
	if (!(s = section(in, hdr)) ||
	    !(kv = realloc(s->kv, (s->nkv + 1) * sizeof(*kv)))) {
		in->oom = true;
		return 0;
	}
	s->kv = kv;
	kv[s->nkv].key = strdup(key);
	/* WARNING: a config may hold keys (aws_secret_access_key, ...):
	 * their values are never kept, only that they are set. */
	kv[s->nkv].value = strdup(strncmp(key, "aws_", 4) ? value : "(set)");
	if (!kv[s->nkv].key || !kv[s->nkv].value) {
		free(kv[s->nkv].key);
		free(kv[s->nkv].value);
		in->oom = true;
		return 0;
	}
	for (char *c = kv[s->nkv].value; *c; c++)
		*c = *c == '\x01' ? ';' : *c;
	s->nkv++;
	return 1;
}

static int creds_handler(void *user, const char *hdr, const char *key,
			 const char *value)
{
	struct init *in = user;
	char **c;

	(void)value; /* WARNING: a secret; only the section's name is kept */
	if (!key || strcmp(key, "aws_access_key_id"))
		return 1;
	for (size_t i = 0; i < in->ncreds; i++)
		if (!strcmp(in->creds[i], hdr))
			return 1;
	if ((c = realloc(in->creds, (in->ncreds + 1) * sizeof(*c))))
		in->creds = c;
	if (!c || !(c[in->ncreds] = strdup(hdr)))
		return !(in->oom = true);
	in->ncreds++;
	return 1;
}

/* inih keeps its line buffer on the stack: scrub what the credentials
 * file left there. */
static __attribute__((noinline)) void scrub_stack(void)
{
	volatile char buf[32768];

	sodium_memzero((void *)buf, sizeof(buf));
	__asm__ volatile("" : : "r"(buf) : "memory");
}

/* Parses path into in with handler: 0, -errno, or the (positive) line of
 * the first INI error. */
static int parse_ini(struct init *in, const char *path, ini_handler handler)
{
	char *text = NULL;
	size_t len = 0;
	int fd, r, saved = ini_max_line;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return -errno;
	r = util_read_fd_secret(fd, INIT_MAX_INPUT, &text, &len);
	close(fd);
	if (r < 0)
		return r;
	/* botocore keeps " ;" in a value; inih would cut it there silently.
	 * Hide it from inih (config_handler puts it back). */
	for (char *c = text, *line = text; *c; c++)
		if (*c == '\n')
			line = c + 1 + strspn(c + 1, " \t");
		else if (*c == ';' && c > line &&
			 (c[-1] == ' ' || c[-1] == '\t'))
			*c = '\x01';
	/* credential_process commands are often longer than inih's line */
	ini_max_line = 16384;
	r = ini_parse_string(text, handler, in);
	ini_max_line = saved;
	scrub_stack();
	secmem_free(text);
	return in->oom ? -ENOMEM : r;
}

/* 0, or the exit status once the problem is named. */
static int read_ini(struct init *in, const char *path, ini_handler h,
		    bool may_miss)
{
	int r = parse_ini(in, path, h);

	if (r > 0)
		fprintf(stderr, "credfs init: %s:%d: not valid INI\n", path, r);
	else if (r < 0 && !(may_miss && r == -ENOENT))
		fprintf(stderr, "credfs init: %s: %s\n", path, strerror(-r));
	else
		return 0;
	return r > 0 ? 2 : 1;
}

static const char *sec_value(const struct ini_sec *s, const char *key)
{
	for (size_t i = s ? s->nkv : 0; i-- > 0;)
		if (!strcmp(s->kv[i].key, key))
			return *s->kv[i].value ? s->kv[i].value : NULL;
	return NULL;
}

static struct prof *find_prof(struct init *in, const char *name)
{
	for (size_t i = 0; i < in->np; i++)
		if (!strcmp(in->p[i].name, name))
			return &in->p[i];
	return NULL;
}

static const struct ini_sec *find_sec(struct init *in, const char *kind,
				      const char *name)
{
	for (size_t i = 0; i < in->nsec; i++)
		if (!strcmp(in->sec[i].kind, kind) &&
		    !strcmp(in->sec[i].name, name))
			return &in->sec[i];
	return NULL;
}

/* The profile's value of key, its own or through include_profile (the
 * profile's own keys win, as in aws-vault). */
static const char *peek(struct init *in, const struct prof *p, const char *key)
{
	for (int depth = 0; p && depth < INIT_MAX_INCLUDE; depth++) {
		const char *v = sec_value(p->sec, key);
		const char *inc = sec_value(p->sec, "include_profile");

		if (v)
			return v;
		if (!inc)
			return NULL;
		p = find_prof(in, inc);
	}
	return NULL;
}

/* peek, and count key as converted. */
static const char *get(struct init *in, struct prof *p, const char *key)
{
	const char *v = peek(in, p, key);

	if (v && p->nused < INIT_MAX_USED)
		p->used[p->nused++] = key;
	return v;
}

/* A profile name credfs takes as a section name, a file label and (with
 * aws-) a store entry. */
static bool name_ok(const char *name)
{
	char entry[300];

	snprintf(entry, sizeof(entry), "aws-%s", name);
	return strlen(name) < 200 && store_name_valid(entry);
}

static bool name_taken(struct init *in, const char *name)
{
	for (size_t i = 0; i < in->nnames; i++)
		if (!strcmp(in->names[i], name))
			return true;
	return find_prof(in, name) != NULL;
}

static int add_name(struct init *in, const char *name)
{
	char **n = realloc(in->names, (in->nnames + 1) * sizeof(*n));

	if (n)
		in->names = n;
	if (!n || !(n[in->nnames] = strdup(name)))
		return (in->oom = true), -ENOMEM;
	in->nnames++;
	return 0;
}

/* ---- writing one [profile] ---- */

struct emit {
	char *buf;
	size_t len;
	FILE *f;
	const char *bad; /* the first key whose value credfs cannot take */
};

/* credfs's reader ends a value at " #" or " ;" and takes one line. */
static bool value_ok(const char *key, const char *v)
{
	size_t kl = strlen(key) < 13 ? 13 : strlen(key);

	if (*v == '#' || *v == ';' || kl + 3 + strlen(v) > INIT_MAX_LINE)
		return false;
	for (const char *c = v; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f ||
		    ((*c == '#' || *c == ';') && (c[-1] == ' ')))
			return false;
	return true;
}

static int emit_begin(struct emit *e, const char *name, const char *provider,
		      const char *comment)
{
	*e = (struct emit){0};
	if (!(e->f = open_memstream(&e->buf, &e->len)))
		return -ENOMEM;
	if (comment)
		fprintf(e->f, "# %s\n", comment);
	fprintf(e->f, "[profile %s]\n%-13s = %s\n", name, "provider", provider);
	return 0;
}

static void emit_kv(struct emit *e, const char *key, const char *value)
{
	if (value && value_ok(key, value))
		fprintf(e->f, "%-13s = %s\n", key, value);
	else if (value && !e->bad)
		e->bad = key;
}

/* Appends the section to the output; -EINVAL (named) if a value could not
 * be written. */
static int emit_end(struct init *in, struct emit *e, const struct prof *p,
		    const char *name)
{
	int r = 0;

	if (fclose(e->f) != 0) {
		in->oom = true;
		r = -ENOMEM;
	} else if (e->bad) {
		fprintf(stderr,
			"credfs init: profile %s left out: the value of '%s' "
			"is not one config line of at most %d bytes without "
			"' #' or ' ;' (wrap the command in a script)\n",
			p->name, e->bad, INIT_MAX_LINE);
		in->nleft++;
		r = -EINVAL;
	} else if ((r = add_name(in, name)) == 0) {
		fprintf(in->body, "\n%s", e->buf);
	}
	free(e->buf);
	return r;
}

/* duration_seconds as a credfs duration: 3600 -> 1h */
static void emit_duration(struct emit *e, const char *secs)
{
	char *end, d[32];
	long n = secs ? strtol(secs, &end, 10) : 0;

	if (!secs || *end || n <= 0)
		emit_kv(e, "duration", secs); /* `credfs check` names it */
	else {
		snprintf(d, sizeof(d), "%ld%s",
			 n % 3600 ? n % 60 ? n : n / 60 : n / 3600,
			 n % 3600 ? n % 60 ? "s" : "m" : "h");
		emit_kv(e, "duration", d);
	}
}

/* ---- mapping one profile ---- */

__attribute__((format(printf, 3, 4))) static const char *
left_out(struct init *in, struct prof *p, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "credfs init: profile %s left out: ", p->name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	in->nleft++;
	return NULL;
}

/* Static keys: from the credentials file (`store import-aws` seals them
 * as aws-NAME) or, less often, from the config itself. */
static const char *map_static(struct init *in, struct prof *p, const char *name,
			      bool helper)
{
	char secret[300], comment[300];
	struct emit e;

	get(in, p, "aws_access_key_id");
	get(in, p, "aws_secret_access_key");
	get(in, p, "aws_session_token");
	snprintf(secret, sizeof(secret), "aws-%s", p->name);
	snprintf(comment, sizeof(comment),
		 "the long-lived keys behind profile %s", p->name);
	if (emit_begin(&e, name, "aws-static", helper ? comment : NULL) < 0)
		return NULL;
	emit_kv(&e, "secret", secret);
	if (emit_end(in, &e, p, name) < 0)
		return NULL;
	if (p->creds_keys) {
		in->ncreds_used++;
	} else {
		fprintf(stderr,
			"credfs init: profile %s: its keys are in %s, not in "
			"the credentials file: seal them with\n"
			"  credfs store add %s access_key_id "
			"secret_access_key\n",
			p->name, in->from, secret);
	}
	return in->names[in->nnames - 1];
}

/* A fresh name for a helper profile: NAME-keys, NAME-keys2, ... */
static int helper_name(struct init *in, const char *base, char *out, size_t len)
{
	snprintf(out, len, "%s-keys", base);
	for (int i = 2; name_taken(in, out) && i < 100; i++)
		snprintf(out, len, "%s-keys%d", base, i);
	return name_taken(in, out) ? -EEXIST : 0;
}

static const char *resolve(struct init *in, struct prof *p);

static const char *map_role(struct init *in, struct prof *p)
{
	const char *src = get(in, p, "source_profile"), *srcout = NULL;
	const char *mfa = get(in, p, "mfa_serial");
	char helper[300];
	struct prof *s = NULL;
	struct emit e;

	if (!strcmp(src, p->name)) {
		/* the profile's own keys sign its AssumeRole */
		if (!p->creds_keys && !peek(in, p, "aws_access_key_id"))
			return left_out(in, p,
					"source_profile is itself, but it has "
					"no keys");
		if (helper_name(in, p->name, helper, sizeof(helper)) < 0 ||
		    !(srcout = map_static(in, p, helper, true)))
			return NULL;
	} else if (!(s = find_prof(in, src))) {
		return left_out(in, p, "source_profile %s is not a profile",
				src);
	} else if (s->state == 1) {
		return left_out(in, p, "source_profile %s leads back to it",
				src);
	} else if (!(srcout = resolve(in, s))) {
		return left_out(in, p, "its source_profile %s was left out",
				src);
	}
	/* A source that is already an MFA session needs no second code. */
	if (s && s->mfa && mfa && !strcmp(s->mfa, mfa))
		mfa = NULL;
	if (emit_begin(&e, p->name, "aws-assume-role", NULL) < 0)
		return NULL;
	emit_kv(&e, "source", srcout);
	emit_kv(&e, "role_arn", get(in, p, "role_arn"));
	emit_kv(&e, "external_id", get(in, p, "external_id"));
	emit_kv(&e, "mfa_serial", mfa);
	in->nmfa += mfa != NULL;
	emit_duration(&e, get(in, p, "duration_seconds"));
	emit_kv(&e, "session_name", get(in, p, "role_session_name"));
	emit_kv(&e, "source_identity", get(in, p, "source_identity"));
	emit_kv(&e, "region", get(in, p, "region"));
	emit_kv(&e, "endpoint", get(in, p, "endpoint_url"));
	return emit_end(in, &e, p, p->name) < 0 ? NULL : p->name;
}

static const char *map_web_identity(struct init *in, struct prof *p)
{
	struct emit e;

	if (emit_begin(&e, p->name, "aws-web-identity", NULL) < 0)
		return NULL;
	emit_kv(&e, "role_arn", get(in, p, "role_arn"));
	emit_kv(&e, "token_file", get(in, p, "web_identity_token_file"));
	emit_duration(&e, get(in, p, "duration_seconds"));
	emit_kv(&e, "session_name", get(in, p, "role_session_name"));
	emit_kv(&e, "region", get(in, p, "region"));
	emit_kv(&e, "endpoint", get(in, p, "endpoint_url"));
	return emit_end(in, &e, p, p->name) < 0 ? NULL : p->name;
}

static const char *map_sso(struct init *in, struct prof *p)
{
	const char *sess = get(in, p, "sso_session");
	const char *url = get(in, p, "sso_start_url");
	const char *region = get(in, p, "sso_region");
	const char *acct = get(in, p, "sso_account_id");
	const char *role = get(in, p, "sso_role_name");
	struct emit e;

	if (sess) {
		const struct ini_sec *ss = find_sec(in, "sso-session", sess);
		if (!ss)
			return left_out(in, p,
					"sso_session %s has no [sso-session] "
					"section",
					sess);
		if (sec_value(ss, "sso_start_url"))
			url = sec_value(ss, "sso_start_url");
		if (sec_value(ss, "sso_region"))
			region = sec_value(ss, "sso_region");
	}
	if (!url)
		return left_out(in, p, "no sso_start_url");
	if (!acct || !role)
		return left_out(in, p,
				"an SSO profile needs sso_account_id and "
				"sso_role_name");
	if (strlen(acct) != 12 || strspn(acct, "0123456789") != 12)
		return left_out(in, p, "sso_account_id %s is not 12 digits",
				acct);
	if (emit_begin(&e, p->name, "aws-sso", NULL) < 0)
		return NULL;
	emit_kv(&e, "sso_session", sess);
	emit_kv(&e, "sso_start_url", url);
	emit_kv(&e, "sso_region", region);
	emit_kv(&e, "sso_account_id", acct);
	emit_kv(&e, "sso_role_name", role);
	in->nsso++;
	return emit_end(in, &e, p, p->name) < 0 ? NULL : p->name;
}

static const char *map_keys(struct init *in, struct prof *p)
{
	const char *mfa = get(in, p, "mfa_serial");
	char helper[300];
	const char *src;
	struct emit e;

	if (!mfa)
		return map_static(in, p, p->name, false);
	/* keys + MFA: a session token with the code, as aws-vault does */
	if (helper_name(in, p->name, helper, sizeof(helper)) < 0 ||
	    !(src = map_static(in, p, helper, true)))
		return NULL;
	if (emit_begin(&e, p->name, "aws-session-token", NULL) < 0)
		return NULL;
	emit_kv(&e, "source", src);
	emit_kv(&e, "mfa_serial", mfa);
	emit_kv(&e, "region", get(in, p, "region"));
	emit_kv(&e, "endpoint", get(in, p, "endpoint_url"));
	if (emit_end(in, &e, p, p->name) < 0)
		return NULL;
	p->mfa = mfa;
	in->nmfa++;
	return p->name;
}

static const char *map(struct init *in, struct prof *p)
{
	const struct prof *q = p;
	const char *inc;
	int depth = 0;

	while (q && (inc = sec_value(q->sec, "include_profile"))) {
		get(in, p, "include_profile");
		if (++depth > INIT_MAX_INCLUDE)
			return left_out(in, p, "include_profile: a cycle");
		if (!(q = find_prof(in, inc)))
			return left_out(
			    in, p, "include_profile %s is not a profile", inc);
	}
	if (!name_ok(p->name))
		return left_out(in, p,
				"credfs takes letters, digits, '_', '.', '@' "
				"and '-' in a profile name");
	if (peek(in, p, "role_arn")) {
		if (peek(in, p, "source_profile"))
			return map_role(in, p);
		if (peek(in, p, "web_identity_token_file"))
			return map_web_identity(in, p);
		if (get(in, p, "credential_source"))
			return left_out(in, p,
					"credential_source is not supported "
					"(an exec profile can wrap a command "
					"that prints the credential)");
		return left_out(in, p,
				"role_arn needs source_profile or "
				"web_identity_token_file");
	}
	if (peek(in, p, "sso_session") || peek(in, p, "sso_start_url") ||
	    peek(in, p, "sso_account_id"))
		return map_sso(in, p);
	if (peek(in, p, "credential_process")) {
		struct emit e;

		if (emit_begin(&e, p->name, "exec", NULL) < 0)
			return NULL;
		emit_kv(&e, "command", get(in, p, "credential_process"));
		return emit_end(in, &e, p, p->name) < 0 ? NULL : p->name;
	}
	if (p->creds_keys || peek(in, p, "aws_access_key_id"))
		return map_keys(in, p);
	if (peek(in, p, "web_identity_token_file"))
		return left_out(in, p,
				"web_identity_token_file needs role_arn");
	return left_out(in, p,
			"no credential in it (no keys, role, SSO or "
			"credential_process)");
}

/* Names every key of the profile's own section that was not converted. */
static void report_keys(const struct prof *p)
{
	char cli[1024] = "", lost[1024] = "";

	for (size_t i = 0; p->sec && i < p->sec->nkv; i++) {
		const char *k = p->sec->kv[i].key;
		char *dst = cli_key(k) ? cli : lost;
		size_t n = strlen(dst);

		bool done = strstr(dst, k) != NULL;

		for (size_t j = 0; j < p->nused; j++)
			done |= !strcmp(p->used[j], k);
		if (done)
			continue;
		snprintf(dst + n, 1024 - n, "%s%s", n ? ", " : "", k);
	}
	if (*cli)
		fprintf(stderr,
			"credfs init: profile %s: left to the AWS CLI (its "
			"config stays readable through the mount): %s\n",
			p->name, cli);
	if (*lost)
		fprintf(stderr,
			"credfs init: profile %s: not converted (%s): %s\n",
			p->name,
			p->served ? "credfs has no equivalent"
				  : "the profile is left out",
			lost);
}

static const char *resolve(struct init *in, struct prof *p)
{
	if (p->state == 2)
		return p->served ? p->name : NULL;
	p->state = 1;
	p->served = map(in, p) != NULL;
	p->state = 2;
	report_keys(p);
	return p->served ? p->name : NULL;
}

static void report_sections(struct init *in)
{
	for (size_t i = 0; i < in->nsec; i++) {
		const struct ini_sec *s = &in->sec[i];

		if (!strcmp(s->kind, "profile"))
			continue;
		if (strcmp(s->kind, "sso-session")) {
			fprintf(stderr,
				"credfs init: [%s%s%s] not converted (left to "
				"the AWS CLI)\n",
				s->kind, *s->name ? " " : "", s->name);
			continue;
		}
		for (size_t k = 0; k < s->nkv; k++)
			if (strcmp(s->kv[k].key, "sso_start_url") &&
			    strcmp(s->kv[k].key, "sso_region"))
				fprintf(
				    stderr,
				    "credfs init: [sso-session %s]: %s %s\n",
				    s->name, s->kv[k].key,
				    cli_key(s->kv[k].key)
					? "left to the AWS CLI"
					: "not converted");
	}
}

static int add_prof(struct init *in, const char *name,
		    const struct ini_sec *sec, bool creds_keys)
{
	struct prof *p = find_prof(in, name);

	if (!p) {
		p = realloc(in->p, (in->np + 1) * sizeof(*p));
		if (!p)
			return -ENOMEM;
		in->p = p;
		p = &in->p[in->np++];
		*p = (struct prof){.name = name};
	}
	if (sec)
		p->sec = sec;
	p->creds_keys |= creds_keys;
	return 0;
}

/* path shown with ~ for $HOME, as a user would type it */
static void init_free(struct init *in)
{
	for (size_t i = 0; i < in->nsec; i++) {
		for (size_t k = 0; k < in->sec[i].nkv; k++) {
			free(in->sec[i].kv[k].key);
			free(in->sec[i].kv[k].value);
		}
		free(in->sec[i].kv);
		free(in->sec[i].kind);
		free(in->sec[i].name);
	}
	free(in->sec);
	for (size_t i = 0; i < in->ncreds; i++)
		free(in->creds[i]);
	free(in->creds);
	for (size_t i = 0; i < in->nnames; i++)
		free(in->names[i]);
	free(in->names);
	free(in->p);
}

int init_aws_map(const char *from, const char *creds, struct init_aws *out)
{
	struct init in = {.from = from};
	size_t body_len = 0;
	int rc;

	*out = (struct init_aws){0};
	if ((rc = read_ini(&in, from, config_handler, false)) != 0 ||
	    (rc = read_ini(&in, creds, creds_handler, true)) != 0)
		goto out;
	rc = 1;
	/* config order first, then profiles only the credentials file has */
	for (size_t i = 0; i < in.nsec; i++)
		if (!strcmp(in.sec[i].kind, "profile") &&
		    add_prof(&in, in.sec[i].name, &in.sec[i], false) < 0)
			goto oom;
	for (size_t i = 0; i < in.ncreds; i++)
		if (add_prof(&in, in.creds[i], NULL, true) < 0)
			goto oom;
	if (!(in.body = open_memstream(&out->body, &body_len)))
		goto oom;
	for (size_t i = 0; i < in.np; i++)
		resolve(&in, &in.p[i]);
	report_sections(&in);
	if (fclose(in.body) != 0 || in.oom)
		goto oom;
	if (!(out->served = calloc(in.np + 1, sizeof(char *))))
		goto oom;
	for (size_t i = 0; i < in.np; i++)
		if (in.p[i].served &&
		    !(out->served[out->nserved++] = strdup(in.p[i].name)))
			goto oom;
	out->nleft = in.nleft;
	out->ncreds_used = in.ncreds_used;
	out->nmfa = in.nmfa;
	out->nsso = in.nsso;
	rc = 0;
	goto out;
oom:
	fprintf(stderr, "credfs init: out of memory\n");
	rc = 1;
out:
	init_free(&in);
	if (rc)
		init_aws_free(out);
	return rc;
}

void init_aws_free(struct init_aws *a)
{
	for (size_t i = 0; a->served && i < a->nserved; i++)
		free(a->served[i]);
	free(a->served);
	free(a->body);
	*a = (struct init_aws){0};
}
