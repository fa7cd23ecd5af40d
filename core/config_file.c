/* config_file: [file PATH] sections: format, profiles shown, view, cache,
 * and the access rules. */
#include "core/config.h"
#include "core/config_priv.h"
#include "core/provider.h"
#include "core/render.h"
#include "core/rules.h"
#include "core/render_gcp.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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
    {"pgpass", FMT_PGPASS, true},
    {"netrc", FMT_NETRC, true},
    {"gcloud-config", FMT_GCLOUD_CONFIG, true},
    {"static", FMT_STATIC, true},
};

const char *format_name(enum file_format f)
{
	for (size_t i = 0; i < sizeof(formats) / sizeof(formats[0]); i++)
		if (formats[i].fmt == f)
			return formats[i].name;
	return "?";
}

/* ---- reading ---- */

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
    "cache",  "field",	  "newline", "vars",  "template", "deny_preload",
    "host",   "port",	  "database", "machine",
    /* gcp-adc, gcloud-config, static */
    "token_file", "mount_path", "project", "account", "content", NULL};
static const char *const file_repeatable[] = {"allow", "deny", "profiles",
					      NULL};
static const char *const aws_fields[] = {"access_key_id", "secret_access_key",
					 NULL};

static bool provider_has_field(const struct provider_ops *ops,
			       const char *field)
{
	/* A provider that does not declare its fields (exec) may print any. */
	return !ops || !ops->fields || cfg_in_list(ops->fields, field);
}

void config_check_file(struct config *c, struct file_cfg *f, struct diag *d)
{
	const struct cfg_section *s = f->sec;
	const char *fmt = cfg_get(s, "format");
	const struct format_info *fi = NULL;
	char err[256];

	cfg_check_duplicates(s, d, file_repeatable);
	f->mode = 0400;
	for (size_t i = 0; i < s->nkv; i++)
		if (!cfg_in_list(file_keys, s->kv[i].key))
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
				 "token, template, gcp-adc, gcloud-config, "
				 "static, pem, pgpass, netrc)",
				 f->path, fmt);
		else
			f->format = fi->fmt;
	}

	/* profiles = prod default=prod; repeated lines add to the list */
	const char *pl = cfg_get(s, "profiles");
	int pline = cfg_line(s, "profiles");
	if ((!pl || !*pl) && f->format != FMT_GCLOUD_CONFIG &&
	    f->format != FMT_STATIC)
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
	if ((v = cfg_get(s, "newline")) && !cfg_parse_bool(v, &f->newline))
		diag_add(d, cfg_line(s, "newline"),
			 "file %s: newline: '%s' is not yes or no", f->path, v);
	if ((v = cfg_get(s, "mode"))) {
		char *end;
		long m = strtol(v, &end, 8);
		if (*end || m < 0 || m > 0777)
			diag_add(d, cfg_line(s, "mode"),
				 "file %s: mode '%s' is not octal", f->path, v);
		else if ((m & 0333) && !render_gcp_seeded(f))
			diag_add(d, cfg_line(s, "mode"),
				 "file %s: mode %04lo: virtual files are "
				 "read-only (use 0400, 0440 or 0444)",
				 f->path, m);
		else
			f->mode = (mode_t)m;
	} else if (render_gcp_seeded(f)) {
		f->mode = 0600; /* gcloud writes it */
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

	render_lines_config(s, f, fi ? (int)fi->fmt : -1, d);

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
		case FMT_PGPASS:
		case FMT_NETRC:
			if (!provider_has_field(ops, "password"))
				diag_add(d, pline,
					 "file %s: format %s cannot show "
					 "profile %s: provider %s gives no "
					 "username and password",
					 f->path, fi->name, pname, ops->name);
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
	config_set_deny_preload(f->policy, s, c->deny_preload, d);
	for (size_t i = 0; i < s->nkv; i++) {
		bool allow = !strcmp(s->kv[i].key, "allow");
		if (!allow && strcmp(s->kv[i].key, "deny"))
			continue;
		err[0] = 0;
		if (rules_add(f->policy, allow, s->kv[i].value, s->kv[i].line,
			      err, sizeof(err)) < 0)
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

void config_check_file_tree(struct config *c, struct diag *d)
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
	render_gcp_check(c, d);
}
