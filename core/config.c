/* config: parse with libinih, then check everything and report it all. */
#include "core/util.h"
#include "core/config.h"
#include "core/rules.h"
#include "core/provider.h"

#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* inih (as Debian builds it) reads lines of at most INI_MAX_LINE - 1
 * bytes and passes no line numbers; our reader counts lines, strips
 * indentation and `#` comments, and flags what inih would silently drop. */
#define CONFIG_MAX_LINE 200

void diag_add(struct diag *d, int line, const char *fmt, ...)
{
	char msg[768], *full;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	int n = line > 0 ? asprintf(&full, "%s:%d: %s",
				    d->file ? d->file : "config", line, msg)
			 : asprintf(&full, "%s: %s",
				    d->file ? d->file : "config", msg);
	if (n < 0)
		return;
	char **m = realloc(d->msgs, (d->n + 1) * sizeof(*m));
	if (!m) {
		free(full);
		return;
	}
	d->msgs = m;
	d->msgs[d->n++] = full;
}

void cfg_error(void *diag, int line, const char *fmt, ...)
{
	char msg[768];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	diag_add(diag, line, "%s", msg);
}

static int diag_line(const char *m)
{
	/* "FILE:LINE: ..." -- the file name may itself hold ':' */
	const char *p = strstr(m, ": ");
	while (p && p > m) {
		const char *q = p;
		while (q > m && q[-1] >= '0' && q[-1] <= '9')
			q--;
		if (q < p && q > m && q[-1] == ':')
			return atoi(q);
		p = strstr(p + 2, ": ");
	}
	return 0;
}

static void diag_sort(struct diag *d)
{
	/* insertion sort: stable, and configs are small */
	for (size_t i = 1; i < d->n; i++) {
		char *m = d->msgs[i];
		size_t j = i;
		while (j > 0 && diag_line(d->msgs[j - 1]) > diag_line(m)) {
			d->msgs[j] = d->msgs[j - 1];
			j--;
		}
		d->msgs[j] = m;
	}
}

void diag_free(struct diag *d)
{
	for (size_t i = 0; i < d->n; i++)
		free(d->msgs[i]);
	free(d->msgs);
	d->msgs = NULL;
	d->n = 0;
}

const char *cfg_get(const struct cfg_section *s, const char *key)
{
	if (!s)
		return NULL;
	for (size_t i = s->nkv; i-- > 0;)
		if (strcmp(s->kv[i].key, key) == 0)
			return s->kv[i].value;
	return NULL;
}

int cfg_line(const struct cfg_section *s, const char *key)
{
	for (size_t i = s->nkv; i-- > 0;)
		if (strcmp(s->kv[i].key, key) == 0)
			return s->kv[i].line;
	return s->line;
}

char *config_expand_path(const char *s)
{
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);

	if (!f)
		return NULL;
	if (s[0] == '~' && (s[1] == '/' || s[1] == 0)) {
		const char *home = getenv("HOME");
		if (!home) {
			struct passwd *pw = getpwuid(getuid());
			home = pw ? pw->pw_dir : "/";
		}
		fputs(home, f);
		s++;
	}
	while (*s) {
		if (*s == '$') {
			const char *p = s + 1, *e;
			int brace = *p == '{';
			if (brace)
				p++;
			e = p;
			while (isalnum((unsigned char)*e) || *e == '_')
				e++;
			if (e > p && (!brace || *e == '}')) {
				char name[128];
				snprintf(name, sizeof(name), "%.*s",
					 (int)(e - p), p);
				const char *v = getenv(name);
				if (v)
					fputs(v, f);
				s = e + brace;
				continue;
			}
		}
		fputc(*s++, f);
	}
	fclose(f);
	return out;
}

struct format_info {
	const char *name;
	enum file_format fmt;
	bool single;
};

static const struct format_info formats[] = {
    {"aws-credentials", FMT_AWS_CREDENTIALS, false},
    {"aws-process", FMT_AWS_PROCESS, true},
    {"env", FMT_ENV, true},
    {"json", FMT_JSON, true},
    {"token", FMT_TOKEN, true},
    {"template", FMT_TEMPLATE, false},
    {"gcp-adc", FMT_GCP_ADC, true},
    {"pem", FMT_PEM, true},
};

const char *format_name(enum file_format f)
{
	for (size_t i = 0; i < sizeof(formats) / sizeof(formats[0]); i++)
		if (formats[i].fmt == f)
			return formats[i].name;
	return "?";
}

/* ---- reading ---- */

struct parse_state {
	struct config *cfg;
	struct diag *d;
	FILE *f;
	int lineno;
	bool line_too_long;
};

static char *reader(char *str, int num, void *stream)
{
	struct parse_state *ps = stream;
	char buf[4096];

	for (;;) {
		if (!fgets(buf, sizeof(buf), ps->f))
			return NULL;
		ps->lineno++;
		size_t n = strlen(buf);
		if (n && buf[n - 1] != '\n' && !feof(ps->f)) {
			int c;
			while ((c = fgetc(ps->f)) != EOF && c != '\n')
				;
			diag_add(ps->d, ps->lineno, "line too long");
			continue;
		}
		while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
			buf[--n] = 0;
		char *p = buf;
		while (*p == ' ' || *p == '\t')
			p++;
		/* `#`/`;` start a comment at the start of a line or after
		 * whitespace; a value cannot contain " #". */
		for (char *q = p; *q; q++) {
			if ((*q == '#' || *q == ';') &&
			    (q == p || q[-1] == ' ' || q[-1] == '\t')) {
				*q = 0;
				break;
			}
		}
		n = strlen(p);
		while (n && (p[n - 1] == ' ' || p[n - 1] == '\t'))
			p[--n] = 0;
		if (*p && *p != '[' && !strchr(p, '=')) {
			diag_add(ps->d, ps->lineno,
				 "expected 'key = value' or '[section]'");
			continue;
		}
		if (*p == '[' && p[n - 1] != ']') {
			diag_add(ps->d, ps->lineno,
				 "unterminated section header");
			continue;
		}
		if ((int)n + 2 > num) {
			diag_add(ps->d, ps->lineno, "line too long (max %d)",
				 num - 2);
			continue;
		}
		memcpy(str, p, n);
		str[n] = '\n';
		str[n + 1] = 0;
		return str;
	}
}

static struct cfg_section *add_section(struct config *c, const char *kind,
				       const char *name, const char *file,
				       int line)
{
	struct cfg_section *s = realloc(c->sec, (c->nsec + 1) * sizeof(*s));
	if (!s)
		return NULL;
	c->sec = s;
	s = &c->sec[c->nsec++];
	memset(s, 0, sizeof(*s));
	s->kind = strdup(kind);
	s->name = name ? strdup(name) : NULL;
	s->file = file;
	s->line = line;
	return s;
}

static int handler(void *user, const char *section, const char *name,
		   const char *value)
{
	struct parse_state *ps = user;
	struct config *c = ps->cfg;

	if (!name) /* new section (INI_CALL_HANDLER_ON_NEW_SECTION) */
		return 1;
	if (!*section) {
		diag_add(ps->d, ps->lineno, "'%s' outside any section", name);
		return 1;
	}
	/* inih truncates long section names; the reader has recorded the
	 * header whole, and every key belongs to the last one recorded. */
	struct cfg_section *s = c->nsec ? &c->sec[c->nsec - 1] : NULL;
	if (!s)
		return 1;
	struct cfg_kv *kv = realloc(s->kv, (s->nkv + 1) * sizeof(*kv));
	if (!kv)
		return 0;
	s->kv = kv;
	kv[s->nkv].key = strdup(name);
	kv[s->nkv].value = strdup(value);
	kv[s->nkv].line = ps->lineno;
	s->nkv++;
	return 1;
}

/* A second pass over section headers: inih does not report them to a
 * handler without INI_CALL_HANDLER_ON_NEW_SECTION, so the reader records
 * each header as it passes. */
static char *reader_sections(char *str, int num, void *stream)
{
	struct parse_state *ps = stream;
	char *r = reader(str, num, stream);

	if (r && r[0] == '[') {
		char hdr[512];
		size_t n = strcspn(r + 1, "]");
		snprintf(hdr, sizeof(hdr), "%.*s", (int)n, r + 1);
		/* normalise "kind   name" */
		char *sp = hdr;
		while (*sp && !isspace((unsigned char)*sp))
			sp++;
		char *name = NULL;
		if (*sp) {
			*sp++ = 0;
			while (isspace((unsigned char)*sp))
				sp++;
			name = *sp ? sp : NULL;
			if (name) {
				size_t l = strlen(name);
				while (l && isspace((unsigned char)name[l - 1]))
					name[--l] = 0;
			}
		}
		add_section(ps->cfg, hdr, name, ps->d->file, ps->lineno);
		/* hand inih the normalised header */
		snprintf(str, num, "[%s%s%s]\n", hdr, name ? " " : "",
			 name ? name : "");
	}
	return r;
}

/* ---- checking ---- */

static bool parse_bool(const char *v, bool *out)
{
	static const char *const yes[] = {"yes", "true", "on", "1", NULL};
	static const char *const no[] = {"no", "false", "off", "0", NULL};
	for (size_t i = 0; yes[i]; i++)
		if (strcasecmp(v, yes[i]) == 0)
			return (*out = true);
	for (size_t i = 0; no[i]; i++)
		if (strcasecmp(v, no[i]) == 0)
			return !(*out = false);
	return false;
}

static bool in_list(const char *const *list, const char *k)
{
	for (size_t i = 0; list && list[i]; i++)
		if (strcmp(list[i], k) == 0)
			return true;
	return false;
}

static void check_duplicates(const struct cfg_section *s, struct diag *d,
			     const char *const *repeatable)
{
	for (size_t i = 0; i < s->nkv; i++)
		for (size_t j = 0; j < i; j++)
			if (strcmp(s->kv[i].key, s->kv[j].key) == 0 &&
			    !in_list(repeatable, s->kv[i].key)) {
				diag_add(d, s->kv[i].line,
					 "'%s' given twice (first on line %d)",
					 s->kv[i].key, s->kv[j].line);
				break;
			}
}

static const char *const credfs_keys[] = {"state_dir",
					  "key",
					  "passphrase_file",
					  "audit_log",
					  "audit_required",
					  "audit_sync",
					  "refresh_before",
					  "open_timeout",
					  "allow_other",
					  "deny_traced",
					  NULL};

static void check_credfs(struct config *c, const struct cfg_section *s,
			 struct diag *d)
{
	check_duplicates(s, d, NULL);
	for (size_t i = 0; i < s->nkv; i++) {
		const struct cfg_kv *kv = &s->kv[i];
		bool b;
		int secs;

		if (!in_list(credfs_keys, kv->key)) {
			diag_add(d, kv->line, "unknown key '%s' in [credfs]",
				 kv->key);
		} else if (!strcmp(kv->key, "state_dir")) {
			free(c->state_dir);
			c->state_dir = config_expand_path(kv->value);
		} else if (!strcmp(kv->key, "key")) {
			if (strcmp(kv->value, "passphrase") != 0 &&
			    (strncmp(kv->value, "keyfile:", 8) != 0 ||
			     !kv->value[8]))
				diag_add(d, kv->line,
					 "key must be 'passphrase' or "
					 "'keyfile:PATH'");
			free(c->key_spec);
			if (!strncmp(kv->value, "keyfile:", 8)) {
				char *p = config_expand_path(kv->value + 8);
				if (p &&
				    asprintf(&c->key_spec, "keyfile:%s", p) < 0)
					c->key_spec = NULL;
				free(p);
			} else {
				c->key_spec = strdup(kv->value);
			}
		} else if (!strcmp(kv->key, "passphrase_file")) {
			free(c->passphrase_file);
			c->passphrase_file =
			    *kv->value ? config_expand_path(kv->value) : NULL;
		} else if (!strcmp(kv->key, "audit_log")) {
			free(c->audit_log);
			c->audit_log = strcmp(kv->value, "syslog")
					   ? config_expand_path(kv->value)
					   : strdup("syslog");
		} else if (!strcmp(kv->key, "audit_sync")) {
			if (strcmp(kv->value, "always") &&
			    strcmp(kv->value, "batch") &&
			    strcmp(kv->value, "none"))
				diag_add(d, kv->line,
					 "audit_sync must be always, batch or "
					 "none");
			free(c->audit_sync);
			c->audit_sync = strdup(kv->value);
		} else if (!strcmp(kv->key, "refresh_before") ||
			   !strcmp(kv->key, "open_timeout")) {
			if (util_duration_parse(kv->value, &secs) < 0)
				diag_add(
				    d, kv->line,
				    "%s: '%s' is not a duration (like 90s, "
				    "15m, 1h)",
				    kv->key, kv->value);
			else if (!strcmp(kv->key, "refresh_before"))
				c->refresh_before = secs;
			else if (secs < 1)
				diag_add(d, kv->line,
					 "open_timeout must be at least 1s");
			else
				c->open_timeout = secs;
		} else {
			if (!parse_bool(kv->value, &b)) {
				diag_add(d, kv->line,
					 "%s: '%s' is not yes or no", kv->key,
					 kv->value);
				continue;
			}
			if (!strcmp(kv->key, "audit_required"))
				c->audit_required = b;
			else if (!strcmp(kv->key, "allow_other"))
				c->allow_other = b;
			else
				c->deny_traced = b;
		}
	}
}

static const char *const profile_common[] = {
    "provider", "source", "endpoint", "ca_file", "region", "timeout", NULL};

static void check_profile(struct config *c, struct profile_cfg *p,
			  struct diag *d)
{
	const struct cfg_section *s = p->sec;
	const char *prov = cfg_get(s, "provider");

	check_duplicates(s, d, NULL);
	char names[512];

	provider_list_names(c->providers, names, sizeof(names));
	if (!prov) {
		diag_add(d, s->line, "profile %s: no provider (one of: %s)",
			 p->name, names);
		return;
	}
	if (!(p->ops = provider_lookup(c->providers, prov))) {
		diag_add(d, cfg_line(s, "provider"),
			 "profile %s: unknown provider '%s' (one of: %s)",
			 p->name, prov, names);
		return;
	}
	for (size_t i = 0; i < s->nkv; i++) {
		const char *k = s->kv[i].key;
		if (!in_list(profile_common, k) && !in_list(p->ops->keys, k))
			diag_add(d, s->kv[i].line,
				 "profile %s: unknown key '%s' for provider "
				 "%s",
				 p->name, k, prov);
	}
	for (size_t i = 0; p->ops->required && p->ops->required[i]; i++)
		if (!cfg_get(s, p->ops->required[i]))
			diag_add(d, s->line,
				 "profile %s: provider %s needs '%s'", p->name,
				 prov, p->ops->required[i]);
	const char *src = cfg_get(s, "source");
	const char *need = p->ops->source ? p->ops->source : "no";
	if (!src && !strcmp(need, "yes"))
		diag_add(d, s->line,
			 "profile %s: provider %s needs 'source = PROFILE'",
			 p->name, prov);
	if (src && !strcmp(need, "no"))
		diag_add(d, cfg_line(s, "source"),
			 "profile %s: provider %s takes no source", p->name,
			 prov);
	if (src) {
		p->source = config_find_profile(c, src);
		if (p->source < 0)
			diag_add(d, cfg_line(s, "source"),
				 "profile %s: source '%s' is not a profile",
				 p->name, src);
	}
	const char *t = cfg_get(s, "timeout");
	int secs;
	if (t && (util_duration_parse(t, &secs) < 0 || secs < 1))
		diag_add(d, cfg_line(s, "timeout"),
			 "profile %s: timeout: '%s' is not a duration", p->name,
			 t);
	const char *ep = cfg_get(s, "endpoint");
	if (ep && strncmp(ep, "https://", 8) && strncmp(ep, "http://", 7))
		diag_add(d, cfg_line(s, "endpoint"),
			 "profile %s: endpoint must be an http(s) URL",
			 p->name);
	if (p->ops->validate)
		p->ops->validate(s, d);
}

static void check_cycles(struct config *c, struct diag *d)
{
	for (size_t i = 0; i < c->nprofiles; i++) {
		/* Walk the source chain; more steps than profiles = cycle. */
		int cur = (int)i;
		size_t steps = 0;
		while (cur >= 0 && steps <= c->nprofiles) {
			cur = c->profiles[cur].source;
			steps++;
			if (cur == (int)i)
				break;
		}
		if (cur != (int)i)
			continue;
		char chain[512] = "";
		size_t off = 0;
		cur = (int)i;
		do {
			off += snprintf(chain + off, sizeof(chain) - off,
					"%s -> ", c->profiles[cur].name);
			if (off >= sizeof(chain))
				break;
			cur = c->profiles[cur].source;
		} while (cur != (int)i);
		if (off < sizeof(chain))
			snprintf(chain + off, sizeof(chain) - off, "%s",
				 c->profiles[i].name);
		diag_add(d, cfg_line(c->profiles[i].sec, "source"),
			 "profile %s: source cycle: %s", c->profiles[i].name,
			 chain);
	}
}

static bool valid_vpath(const char *p)
{
	if (!*p || *p == '/' || p[strlen(p) - 1] == '/')
		return false;
	for (const char *s = p; *s;) {
		size_t n = strcspn(s, "/");
		if (n == 0 || (n == 1 && s[0] == '.') ||
		    (n == 2 && s[0] == '.' && s[1] == '.') || n > 255)
			return false;
		for (size_t i = 0; i < n; i++)
			if ((unsigned char)s[i] < 0x20)
				return false;
		s += n;
		if (*s)
			s++;
	}
	return true;
}

static const char *const file_keys[] = {
    "format", "profiles", "mode",    "allow", "deny",	  "view",
    "cache",  "field",	  "newline", "vars",  "template", NULL};
static const char *const file_repeatable[] = {"allow", "deny", "profiles",
					      NULL};
static const char *const aws_fields[] = {"access_key_id", "secret_access_key",
					 NULL};

static bool provider_has_field(const struct provider_ops *ops,
			       const char *field)
{
	/* A provider that does not declare its fields (exec) may print any. */
	return !ops || !ops->fields || in_list(ops->fields, field);
}

static void check_file(struct config *c, struct file_cfg *f, struct diag *d)
{
	const struct cfg_section *s = f->sec;
	const char *fmt = cfg_get(s, "format");
	const struct format_info *fi = NULL;
	char err[256];

	check_duplicates(s, d, file_repeatable);
	f->mode = 0400;
	for (size_t i = 0; i < s->nkv; i++)
		if (!in_list(file_keys, s->kv[i].key))
			diag_add(d, s->kv[i].line, "file %s: unknown key '%s'",
				 f->path, s->kv[i].key);
	if (!valid_vpath(f->path))
		diag_add(d, s->line,
			 "file %s: not a relative path without '.', '..' or "
			 "empty parts",
			 f->path);
	if (!fmt) {
		diag_add(d, s->line, "file %s: no format", f->path);
	} else {
		for (size_t i = 0; i < sizeof(formats) / sizeof(formats[0]);
		     i++)
			if (!strcmp(formats[i].name, fmt))
				fi = &formats[i];
		if (!fi)
			diag_add(d, cfg_line(s, "format"),
				 "file %s: unknown format '%s' (one of: "
				 "aws-credentials, aws-process, env, json, "
				 "token, template, gcp-adc, pem)",
				 f->path, fmt);
		else
			f->format = fi->fmt;
		if (fi && (fi->fmt == FMT_GCP_ADC || fi->fmt == FMT_PEM)) {
			diag_add(d, cfg_line(s, "format"),
				 "file %s: format %s is not available in this "
				 "build (it needs the GCP and Vault providers)",
				 f->path, fmt);
			fi = NULL;
		}
	}

	/* profiles = prod default=prod; repeated lines add to the list */
	const char *pl = cfg_get(s, "profiles");
	int pline = cfg_line(s, "profiles");
	if (!pl || !*pl)
		diag_add(d, s->line, "file %s: no profiles", f->path);
	for (size_t kv = 0; kv < s->nkv; kv++) {
		if (strcmp(s->kv[kv].key, "profiles"))
			continue;
		pline = s->kv[kv].line;
		char *dup = strdup(s->kv[kv].value), *save = NULL;
		for (char *tok = strtok_r(dup, " \t,", &save); tok;
		     tok = strtok_r(NULL, " \t,", &save)) {
			char *eq = strchr(tok, '=');
			const char *label = tok, *prof = tok;
			if (eq) {
				*eq = 0;
				prof = eq + 1;
			}
			bool label_ok = *label != 0;
			for (const char *q = label; *q; q++)
				if ((unsigned char)*q < 0x21 || *q == '[' ||
				    *q == ']' || *q == '#' || *q == ';' ||
				    *q == '"' || *q == '\\' || *q == 0x7f)
					label_ok = false;
			if (!label_ok)
				diag_add(d, pline,
					 "file %s: section name '%s' has a "
					 "character that would change the file",
					 f->path, label);
			int idx = config_find_profile(c, prof);
			if (idx < 0) {
				diag_add(d, pline,
					 "file %s: '%s' is not a profile",
					 f->path, prof);
				continue;
			}
			bool twice = false;
			for (size_t k = 0; k < f->nprof; k++)
				if (!strcmp(f->labels[k], label))
					twice = true;
			if (twice) {
				diag_add(d, pline,
					 "file %s: section '%s' shown twice",
					 f->path, label);
				continue;
			}
			if (f->nprof == CONFIG_MAX_FILE_PROFILES) {
				diag_add(
				    d, pline,
				    "file %s: more than %d profiles in one "
				    "file",
				    f->path, CONFIG_MAX_FILE_PROFILES);
				break;
			}
			f->labels =
			    realloc(f->labels, (f->nprof + 1) * sizeof(char *));
			f->prof =
			    realloc(f->prof, (f->nprof + 1) * sizeof(int));
			f->labels[f->nprof] = strdup(label);
			f->prof[f->nprof] = idx;
			f->nprof++;
		}
		free(dup);
	}
	if (fi && fi->single && f->nprof > 1)
		diag_add(d, pline,
			 "file %s: format %s shows exactly one profile, not "
			 "%zu",
			 f->path, fi->name, f->nprof);

	f->field =
	    strdup(cfg_get(s, "field") ? cfg_get(s, "field") : "access_token");
	const char *v;
	if ((v = cfg_get(s, "newline")) && !parse_bool(v, &f->newline))
		diag_add(d, cfg_line(s, "newline"),
			 "file %s: newline: '%s' is not yes or no", f->path, v);
	if ((v = cfg_get(s, "mode"))) {
		char *end;
		long m = strtol(v, &end, 8);
		if (*end || m < 0 || m > 0777)
			diag_add(d, cfg_line(s, "mode"),
				 "file %s: mode '%s' is not octal", f->path, v);
		else if (m & 0333)
			diag_add(d, cfg_line(s, "mode"),
				 "file %s: mode %04lo: virtual files are "
				 "read-only (use 0400, 0440 or 0444)",
				 f->path, m);
		else
			f->mode = (mode_t)m;
	}
	if ((v = cfg_get(s, "view"))) {
		if (!strcmp(v, "per-caller"))
			f->per_caller = true;
		else if (strcmp(v, "shared"))
			diag_add(d, cfg_line(s, "view"),
				 "file %s: view must be shared or per-caller",
				 f->path);
	}
	if ((v = cfg_get(s, "cache"))) {
		if (!strcmp(v, "kernel"))
			f->cache_kernel = true;
		else if (strcmp(v, "none"))
			diag_add(d, cfg_line(s, "cache"),
				 "file %s: cache must be none or kernel",
				 f->path);
	}
	if (f->cache_kernel && f->per_caller)
		diag_add(d, cfg_line(s, "cache"),
			 "file %s: cache = kernel cannot serve a per-caller "
			 "view",
			 f->path);
	if ((v = cfg_get(s, "vars"))) {
		char *dup = strdup(v), *save = NULL;
		size_t n = 0;
		for (char *tok = strtok_r(dup, " \t", &save); tok;
		     tok = strtok_r(NULL, " \t", &save)) {
			char *eq = strchr(tok, '=');
			bool ok = eq && eq != tok && eq[1];
			for (char *q = tok; ok && q < eq; q++)
				ok = isalnum((unsigned char)*q) || *q == '_';
			if (!ok || isdigit((unsigned char)tok[0])) {
				diag_add(
				    d, cfg_line(s, "vars"),
				    "file %s: vars: '%s' is not NAME=field",
				    f->path, tok);
				continue;
			}
			f->vars = realloc(f->vars, (n + 2) * sizeof(char *));
			f->vars[n++] = strdup(tok);
			f->vars[n] = NULL;
		}
		free(dup);
	}
	if (fi && fi->fmt == FMT_TEMPLATE) {
		if (!(v = cfg_get(s, "template"))) {
			diag_add(d, s->line,
				 "file %s: format template needs "
				 "'template = PATH'",
				 f->path);
		} else {
			f->template_path = config_expand_path(v);
			if (access(f->template_path, R_OK) < 0)
				diag_add(d, cfg_line(s, "template"),
					 "file %s: template %s: %s", f->path,
					 f->template_path, strerror(errno));
		}
	}

	/* Can the format show what the profile produces? */
	for (size_t k = 0; fi && k < f->nprof; k++) {
		const struct provider_ops *ops = c->profiles[f->prof[k]].ops;
		const char *pname = c->profiles[f->prof[k]].name;
		switch (fi->fmt) {
		case FMT_AWS_CREDENTIALS:
		case FMT_AWS_PROCESS:
			for (size_t i = 0; aws_fields[i]; i++)
				if (!provider_has_field(ops, aws_fields[i])) {
					diag_add(
					    d, pline,
					    "file %s: format %s cannot show "
					    "profile %s: provider %s gives "
					    "no %s",
					    f->path, fi->name, pname, ops->name,
					    aws_fields[i]);
					break;
				}
			break;
		case FMT_ENV:
			if (!f->vars &&
			    !provider_has_field(ops, "access_key_id"))
				diag_add(
				    d, pline,
				    "file %s: format env cannot show profile "
				    "%s without 'vars =': provider %s gives "
				    "no AWS keys",
				    f->path, pname, ops->name);
			for (size_t i = 0; f->vars && f->vars[i]; i++) {
				const char *fld = strchr(f->vars[i], '=') + 1;
				if (!provider_has_field(ops, fld))
					diag_add(
					    d, cfg_line(s, "vars"),
					    "file %s: provider %s of profile "
					    "%s gives no field '%s'",
					    f->path, ops->name, pname, fld);
			}
			break;
		case FMT_TOKEN:
		case FMT_GCP_ADC:
			if (!provider_has_field(ops, f->field))
				diag_add(
				    d, pline,
				    "file %s: format %s cannot show profile "
				    "%s: provider %s gives no field '%s'",
				    f->path, fi->name, pname, ops->name,
				    f->field);
			break;
		case FMT_PEM:
			if (!provider_has_field(ops, "certificate"))
				diag_add(
				    d, pline,
				    "file %s: format pem cannot show profile "
				    "%s: provider %s gives no certificate",
				    f->path, pname, ops->name);
			break;
		default:
			break;
		}
	}

	f->policy = rules_new(c->owner);
	rules_set_deny_traced(f->policy, c->deny_traced);
	for (size_t i = 0; i < s->nkv; i++) {
		bool allow = !strcmp(s->kv[i].key, "allow");
		if (!allow && strcmp(s->kv[i].key, "deny"))
			continue;
		err[0] = 0;
		if (rules_add(f->policy, allow, s->kv[i].value,
				    s->kv[i].line, err, sizeof(err)) < 0)
			diag_add(d, s->kv[i].line, "file %s: %s %s", f->path,
				 s->kv[i].key, err[0] ? err : "invalid rule");
	}
	int bad_line = 0;
	if (rules_check_profiles(f->policy, (const char *const *)f->labels,
				  f->nprof, &bad_line, err, sizeof(err)) < 0)
		diag_add(d, bad_line ? bad_line : s->line, "file %s: %s",
			 f->path, err);
	if (f->per_caller && rules_count(f->policy) == 0)
		diag_add(d, cfg_line(s, "view"),
			 "file %s: view = per-caller needs allow rules with "
			 "profiles:",
			 f->path);
}

static void check_file_tree(struct config *c, struct diag *d)
{
	for (size_t i = 0; i < c->nfiles; i++)
		for (size_t j = 0; j < c->nfiles; j++) {
			if (i == j)
				continue;
			size_t n = strlen(c->files[i].path);
			if (!strncmp(c->files[j].path, c->files[i].path, n) &&
			    c->files[j].path[n] == '/')
				diag_add(d, c->files[j].sec->line,
					 "file %s: '%s' is a file, not a "
					 "directory",
					 c->files[j].path, c->files[i].path);
		}
}

int config_find_profile(const struct config *c, const char *name)
{
	for (size_t i = 0; i < c->nprofiles; i++)
		if (!strcmp(c->profiles[i].name, name))
			return (int)i;
	return -1;
}

const struct file_cfg *config_find_file(const struct config *c,
					const char *path)
{
	for (size_t i = 0; i < c->nfiles; i++)
		if (!strcmp(c->files[i].path, path))
			return &c->files[i];
	return NULL;
}

char *config_default_path(void)
{
	const char *e = getenv("CREDFS_CONFIG");
	char *p = NULL;

	if (e && *e)
		return strdup(e);
	e = getenv("XDG_CONFIG_HOME");
	if (e && *e) {
		if (asprintf(&p, "%s/credfs/config", e) < 0)
			return NULL;
		return p;
	}
	return config_expand_path("~/.config/credfs/config");
}

int config_load(const char *path, const struct provider_ops *const *providers,
		struct config **out, struct diag *d)
{
	struct config *c = calloc(1, sizeof(*c));
	struct parse_state ps = {.cfg = c, .d = d};
	int r = 0;

	*out = NULL;
	if (!c)
		return -ENOMEM;
	c->path = strdup(path);
	c->providers = providers;
	d->file = c->path;
	c->owner = getuid();
	c->refresh_before = 15 * 60;
	c->open_timeout = 10;
	c->audit_required = true;
	c->audit_sync = strdup("batch");
	c->state_dir = config_expand_path("~/.local/state/credfs");
	c->key_spec = strdup("passphrase");

	if (!(ps.f = fopen(path, "re"))) {
		r = -errno;
		diag_add(d, 0, "cannot read config: %s", strerror(errno));
		goto out;
	}
	ini_parse_stream(reader_sections, &ps, handler, &ps);
	fclose(ps.f);

	size_t ncredfs = 0;
	for (size_t i = 0; i < c->nsec; i++) {
		struct cfg_section *s = &c->sec[i];
		if (!strcmp(s->kind, "credfs")) {
			if (s->name)
				diag_add(d, s->line, "[credfs] takes no name");
			if (ncredfs++)
				diag_add(d, s->line, "[credfs] given twice");
		} else if (!strcmp(s->kind, "profile") ||
			   !strcmp(s->kind, "file")) {
			if (!s->name) {
				diag_add(d, s->line, "[%s] needs a name",
					 s->kind);
				continue;
			}
			bool prof = !strcmp(s->kind, "profile");
			for (size_t j = 0; j < i; j++)
				if (!strcmp(c->sec[j].kind, s->kind) &&
				    c->sec[j].name &&
				    !strcmp(c->sec[j].name, s->name))
					diag_add(
					    d, s->line,
					    "[%s %s] given twice (first on "
					    "line %d)",
					    s->kind, s->name, c->sec[j].line);
			if (prof) {
				c->profiles = realloc(c->profiles,
						      (c->nprofiles + 1) *
							  sizeof(*c->profiles));
				c->profiles[c->nprofiles++] =
				    (struct profile_cfg){
					.name = strdup(s->name),
					.sec = s,
					.source = -1,
				    };
			} else {
				c->files =
				    realloc(c->files, (c->nfiles + 1) *
							  sizeof(*c->files));
				c->files[c->nfiles++] = (struct file_cfg){
				    .path = strdup(s->name),
				    .sec = s,
				};
			}
		} else {
			diag_add(d, s->line,
				 "unknown section [%s%s%s] (expected [credfs], "
				 "[profile NAME] or [file PATH])",
				 s->kind, s->name ? " " : "",
				 s->name ? s->name : "");
		}
	}
	for (size_t i = 0; i < c->nsec; i++)
		if (!strcmp(c->sec[i].kind, "credfs"))
			check_credfs(c, &c->sec[i], d);
	for (size_t i = 0; i < c->nprofiles; i++)
		check_profile(c, &c->profiles[i], d);
	check_cycles(c, d);
	for (size_t i = 0; i < c->nfiles; i++)
		check_file(c, &c->files[i], d);
	check_file_tree(c, d);
	if (!c->audit_log &&
	    asprintf(&c->audit_log, "%s/audit.log", c->state_dir) < 0)
		c->audit_log = NULL;
	if (d->n) {
		diag_sort(d);
		r = -EINVAL;
	}
out:
	if (r < 0 && r != -EINVAL) {
		config_free(c);
		return r;
	}
	*out = c;
	return r;
}

void config_free(struct config *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->nfiles; i++) {
		struct file_cfg *f = &c->files[i];
		free(f->path);
		for (size_t k = 0; k < f->nprof; k++)
			free(f->labels[k]);
		free(f->labels);
		free(f->prof);
		free(f->field);
		for (size_t k = 0; f->vars && f->vars[k]; k++)
			free(f->vars[k]);
		free(f->vars);
		free(f->template_path);
		rules_free(f->policy);
	}
	free(c->files);
	for (size_t i = 0; i < c->nprofiles; i++)
		free(c->profiles[i].name);
	free(c->profiles);
	for (size_t i = 0; i < c->nsec; i++) {
		struct cfg_section *s = &c->sec[i];
		for (size_t k = 0; k < s->nkv; k++) {
			free(s->kv[k].key);
			free(s->kv[k].value);
		}
		free(s->kv);
		free(s->kind);
		free(s->name);
	}
	free(c->sec);
	free(c->path);
	free(c->state_dir);
	free(c->key_spec);
	free(c->passphrase_file);
	free(c->audit_log);
	free(c->audit_sync);
	free(c);
}
