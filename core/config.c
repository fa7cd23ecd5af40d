/* config: load (read, then check everything and report it all), find,
 * free. */
#include "core/util.h"
#include "core/config.h"
#include "core/config_priv.h"
#include "core/provider.h"
#include "core/rules.h"
#include "core/render_gcp.h"

#include <ctype.h>
#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const char *cfg_get(const struct cfg_section *s, const char *key)
{
	if (!s)
		return NULL;
	for (size_t i = s->nkv; i-- > 0;)
		if (strcmp(s->kv[i].key, key) == 0)
			return s->kv[i].value;
	return NULL;
}

char *cfg_strdup(const struct cfg_section *s, const char *key)
{
	const char *v = cfg_get(s, key);

	return v && *v ? strdup(v) : NULL;
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
	FILE *f;
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

	if (!(f = fopen(path, "re"))) {
		r = -errno;
		diag_add(d, 0, "cannot read config: %s", strerror(errno));
		goto out;
	}
	config_read_ini(c, f, d);
	fclose(f);

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
			config_check_credfs(c, &c->sec[i], d);
	for (size_t i = 0; i < c->nprofiles; i++)
		config_check_profile(c, &c->profiles[i], d);
	config_check_cycles(c, d);
	for (size_t i = 0; i < c->nfiles; i++)
		config_check_file(c, &c->files[i], d);
	config_check_file_tree(c, d);
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
		render_gcp_free(f->gcp);
	}
	free(c->files);
	for (size_t i = 0; i < c->nprofiles; i++)
		config_profile_free(&c->profiles[i]);
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
	free(c->mountpoint);
	free(c);
}
