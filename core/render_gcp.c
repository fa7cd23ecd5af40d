/* render_gcp: gcp-adc, gcloud-config and static files. */
#include "core/render_gcp.h"
#include "core/config.h"
#include "core/config_priv.h"
#include "core/error.h"
#include "core/util.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STS_URI "https://sts.googleapis.com/v1/token"
#define JWT_TYPE "urn:ietf:params:oauth:token-type:jwt"

void render_gcp_free(struct file_gcp *g)
{
	if (!g)
		return;
	free(g->token_file);
	free(g->mount_path);
	free(g->content);
	free(g->project);
	free(g->account);
	free(g->audience);
	free(g->subject_token_type);
	free(g->token_url);
	free(g->impersonation_url);
	free(g);
}

static char *dup_or_null(const char *v)
{
	return v && *v ? strdup(v) : NULL;
}

/* A value gcloud's configparser keeps as written: no control character,
 * no '%' (interpolation), no surrounding space. */
static bool ini_value_ok(const char *v)
{
	size_t n = strlen(v);

	return render_value_ok(v) && !strchr(v, '%') && v[0] != ' ' &&
	       v[n - 1] != ' ';
}

/* The token file a gcp-adc or gcloud-config file points at, or NULL
 * (reported). */
static const struct file_cfg *
check_token_file(struct config *c, const struct file_cfg *f, struct diag *d)
{
	const struct cfg_section *s = f->sec;
	const char *tf = cfg_get(s, "token_file");
	const struct file_cfg *t;

	if (!tf || !*tf) {
		diag_add(d, s->line,
			 "file %s: format %s needs 'token_file =' (a token "
			 "file of this mount)",
			 f->path, format_name(f->format));
		return NULL;
	}
	if (!(t = config_find_file(c, tf)) || t->format != FMT_TOKEN ||
	    t->nprof != 1) {
		diag_add(d, cfg_line(s, "token_file"),
			 "file %s: token_file '%s' is not a file of format "
			 "token in this config",
			 f->path, tf);
		return NULL;
	}
	if (!ini_value_ok(tf)) {
		diag_add(d, cfg_line(s, "token_file"),
			 "file %s: token_file '%s' has a character a reader "
			 "would not keep",
			 f->path, tf);
		return NULL;
	}
	return t;
}

/* gcp-adc: the exchange is the profile's; its subject token is the token
 * file's, which must show the profile's source. */
static void check_adc(struct config *c, struct file_cfg *f,
		      const struct file_cfg *t, struct diag *d)
{
	const struct profile_cfg *p;
	const struct cfg_section *ps;
	struct file_gcp *g = f->gcp;
	const char *v;

	if (f->nprof != 1)
		return; /* reported by config_check_file */
	p = &c->profiles[f->prof[0]];
	ps = p->sec;
	if (!p->ops || strcmp(p->ops->name, "gcp-external-account")) {
		diag_add(d, cfg_line(f->sec, "profiles"),
			 "file %s: format gcp-adc shows a gcp-external-account "
			 "profile, not %s (provider %s)",
			 f->path, p->name, p->ops ? p->ops->name : "?");
		return;
	}
	if (t && (p->source < 0 || t->prof[0] != p->source)) {
		diag_add(d, cfg_line(f->sec, "token_file"),
			 "file %s: token_file %s must show the subject token "
			 "of profile %s, i.e. its 'source =' profile",
			 f->path, t->path, p->name);
		return;
	}
	if (t && (v = cfg_get(ps, "token_field")) && strcmp(v, t->field))
		diag_add(d, cfg_line(f->sec, "token_file"),
			 "file %s: token_file %s shows field %s, profile %s "
			 "exchanges its source's %s",
			 f->path, t->path, t->field, p->name, v);
	if (t && t->newline)
		diag_add(d, cfg_line(f->sec, "token_file"),
			 "file %s: token_file %s ends in a newline: client "
			 "libraries send the file's bytes as they are",
			 f->path, t->path);
	g->audience = dup_or_null(cfg_get(ps, "audience"));
	v = cfg_get(ps, "subject_token_type");
	g->subject_token_type = strdup(v && *v ? v : JWT_TYPE);
	v = cfg_get(ps, "endpoint");
	g->token_url = strdup(v && *v ? v : STS_URI);
	g->impersonation_url =
	    dup_or_null(cfg_get(ps, "service_account_impersonation_url"));
	if ((v = cfg_get(ps, "lifetime")) &&
	    util_duration_parse(v, &g->lifetime) < 0)
		g->lifetime = 0; /* reported by the provider */
}

static void check_one(struct config *c, struct file_cfg *f, struct diag *d)
{
	const struct cfg_section *s = f->sec;
	const struct file_cfg *t = NULL;
	struct file_gcp *g;
	const char *v;

	if (!(f->gcp = g = calloc(1, sizeof(*g))))
		return;
	if ((v = cfg_get(s, "mount_path"))) {
		size_t n = strlen(v);
		while (n > 1 && v[n - 1] == '/')
			n--;
		if (v[0] != '/' || !ini_value_ok(v))
			diag_add(d, cfg_line(s, "mount_path"),
				 "file %s: mount_path must be an absolute path "
				 "(where readers see this mount)",
				 f->path);
		else
			g->mount_path = strndup(v, n);
	}
	if (f->format != FMT_GCP_ADC && f->nprof)
		diag_add(d, cfg_line(s, "profiles"),
			 "file %s: format %s shows no profile%s", f->path,
			 format_name(f->format),
			 f->format == FMT_GCLOUD_CONFIG
			     ? " (its token_file does)"
			     : "");
	if (render_gcp_seeded(f)) {
		static const char *const nokeys[] = {"allow", "deny", "view",
						     "cache"};
		for (size_t i = 0; i < 4; i++)
			if (cfg_get(s, nokeys[i]))
				diag_add(d, cfg_line(s, nokeys[i]),
					 "file %s: format %s is an ordinary "
					 "file written at mount (no secret): "
					 "'%s' does not apply",
					 f->path, format_name(f->format),
					 nokeys[i]);
	}
	if (f->format == FMT_STATIC) {
		v = cfg_get(s, "content");
		if (!v || !render_value_ok(v))
			diag_add(d, v ? cfg_line(s, "content") : s->line,
				 "file %s: format static needs 'content =', "
				 "one line",
				 f->path);
		else
			g->content = strdup(v);
		return;
	}
	if ((t = check_token_file(c, f, d)))
		g->token_file = strdup(t->path);
	if (f->format == FMT_GCP_ADC) {
		check_adc(c, f, t, d);
		return;
	}
	if (t && strcmp(t->field, "access_token"))
		diag_add(d, cfg_line(s, "token_file"),
			 "file %s: token_file %s shows field %s: gcloud "
			 "needs an access_token",
			 f->path, t->path, t->field);
	static const char *const keys[] = {"project", "account"};
	for (size_t i = 0; i < 2; i++) {
		if (!(v = cfg_get(s, keys[i])))
			continue;
		if (!ini_value_ok(v))
			diag_add(d, cfg_line(s, keys[i]),
				 "file %s: %s '%s' has a character gcloud "
				 "would not keep",
				 f->path, keys[i], v);
		else if (i == 0)
			g->project = strdup(v);
		else
			g->account = strdup(v);
	}
}

/* A seeded file under a directory that a virtual file makes virtual would
 * be hidden by it: a virtual directory covers the real one whole. */
static void check_hidden(struct config *c, const struct file_cfg *f,
			 struct diag *d)
{
	const char *s = strchr(f->path, '/');

	for (size_t i = 0; s && i < c->nfiles; i++) {
		const struct file_cfg *v = &c->files[i];
		size_t k = (size_t)(s - f->path);
		if (!render_gcp_seeded(v) && strchr(v->path, '/') &&
		    !strncmp(v->path, f->path, k + 1)) {
			diag_add(d, f->sec->line,
				 "file %s: virtual file %s makes %.*s/ a "
				 "virtual directory, which would hide it (put "
				 "virtual files elsewhere)",
				 f->path, v->path, (int)k, f->path);
			return;
		}
	}
}

void render_gcp_check(struct config *c, struct diag *d)
{
	for (size_t i = 0; i < c->nfiles; i++) {
		struct file_cfg *f = &c->files[i];
		if (f->format == FMT_GCP_ADC || render_gcp_seeded(f))
			check_one(c, f, d);
		if (render_gcp_seeded(f))
			check_hidden(c, f, d);
	}
}

/* Where a reader finds the token file: mount_path (a container's view) or
 * the mountpoint, joined with token_file. */
static int token_path(const struct render_input *in, char *buf, size_t len,
		      struct error *err)
{
	const struct file_gcp *g = in->file->gcp;
	const char *base = g->mount_path ? g->mount_path : in->mountpoint;

	if (!base) {
		error_set(err, EIO,
			  "file %s: where readers see the mount is not known "
			  "(set mount_path)",
			  in->file->path);
		return -EIO;
	}
	if ((size_t)snprintf(buf, len, "%s%s%s", base,
			     strcmp(base, "/") ? "/" : "",
			     g->token_file) >= len ||
	    !ini_value_ok(buf)) {
		error_set(err, EIO,
			  "file %s: the path of %s cannot be written into it",
			  in->file->path, g->token_file);
		return -EIO;
	}
	return 0;
}

static int render_adc(const struct render_input *in, struct secbuf *b,
		      struct error *err)
{
	const struct file_gcp *g = in->file->gcp;
	cJSON *o = cJSON_CreateObject(), *src, *fmt, *imp;
	char path[4096], *txt = NULL;
	int r;

	if (!o)
		return -ENOMEM;
	if ((r = token_path(in, path, sizeof(path), err)) < 0)
		goto out;
	r = -ENOMEM;
	if (!cJSON_AddStringToObject(o, "type", "external_account") ||
	    !cJSON_AddStringToObject(o, "audience", g->audience) ||
	    !cJSON_AddStringToObject(o, "subject_token_type",
				     g->subject_token_type) ||
	    !cJSON_AddStringToObject(o, "token_url", g->token_url))
		goto out;
	if (g->impersonation_url) {
		if (!cJSON_AddStringToObject(
			o, "service_account_impersonation_url",
			g->impersonation_url))
			goto out;
		if (g->lifetime &&
		    (!(imp = cJSON_AddObjectToObject(
			   o, "service_account_impersonation")) ||
		     !cJSON_AddNumberToObject(imp, "token_lifetime_seconds",
					      g->lifetime)))
			goto out;
	}
	if (!(src = cJSON_AddObjectToObject(o, "credential_source")) ||
	    !cJSON_AddStringToObject(src, "file", path) ||
	    !(fmt = cJSON_AddObjectToObject(src, "format")) ||
	    !cJSON_AddStringToObject(fmt, "type", "text"))
		goto out;
	if (!(txt = cJSON_Print(o)))
		goto out;
	if ((r = secbuf_append(b, txt, strlen(txt))) == 0)
		r = secbuf_append(b, "\n", 1);
out:
	cJSON_free(txt);
	cJSON_Delete(o);
	return r;
}

static int render_gcloud(const struct render_input *in, struct secbuf *b,
			 struct error *err)
{
	const struct file_gcp *g = in->file->gcp;
	char path[4096];
	int r;

	if ((r = token_path(in, path, sizeof(path), err)) < 0)
		return r;
	if ((r = secbuf_printf(b,
			       "# generated by credfs: gcloud reads the "
			       "token file once per command\n"
			       "[auth]\naccess_token_file = %s\n",
			       path)) < 0)
		return r;
	if (!g->project && !g->account)
		return 0;
	if ((r = secbuf_printf(b, "\n[core]\n")) < 0)
		return r;
	if (g->project &&
	    (r = secbuf_printf(b, "project = %s\n", g->project)) < 0)
		return r;
	if (g->account &&
	    (r = secbuf_printf(b, "account = %s\n", g->account)) < 0)
		return r;
	return 0;
}

int render_gcp(const struct render_input *in, struct secbuf *out,
	       struct error *err)
{
	const struct file_cfg *f = in->file;
	int r;

	if (!f->gcp) {
		error_set(err, EIO, "file %s: not checked", f->path);
		return -EIO;
	}
	switch (f->format) {
	case FMT_GCP_ADC:
		return render_adc(in, out, err);
	case FMT_GCLOUD_CONFIG:
		return render_gcloud(in, out, err);
	case FMT_STATIC:
		r = secbuf_append(out, f->gcp->content,
				  strlen(f->gcp->content));
		return r ? r : f->newline ? secbuf_append(out, "\n", 1) : 0;
	default:
		error_set(err, EIO, "file %s: not a Google format", f->path);
		return -EIO;
	}
}

bool render_gcp_seeded(const struct file_cfg *f)
{
	return f->format == FMT_GCLOUD_CONFIG || f->format == FMT_STATIC;
}

/* ---- seeding: gcloud's own files, merged ---- */

/* The key of an INI line ("key = v", "key: v"), lowercased the way
 * gcloud's configparser keeps it, into key; false for anything else. */
static bool ini_key(const char *l, size_t n, char *key, size_t len)
{
	size_t i = 0, k = 0;

	while (i < n && (l[i] == ' ' || l[i] == '\t'))
		i++;
	if (i == n || l[i] == '#' || l[i] == ';' || l[i] == '[' || i > 0)
		return false; /* blank, comment, header or continuation */
	while (i < n && l[i] != '=' && l[i] != ':' && k + 1 < len)
		key[k++] = (char)tolower((unsigned char)l[i++]);
	if (i == n || (l[i] != '=' && l[i] != ':'))
		return false;
	while (k && (key[k - 1] == ' ' || key[k - 1] == '\t'))
		k--;
	key[k] = 0;
	return true;
}

/* A section header's name, into name; false if l is not one. */
static bool ini_section(const char *l, size_t n, char *name, size_t len)
{
	const char *e;

	if (!n || l[0] != '[' || !(e = memchr(l, ']', n)) ||
	    (size_t)(e - l - 1) >= len)
		return false;
	memcpy(name, l + 1, (size_t)(e - l - 1));
	name[e - l - 1] = 0;
	return true;
}

struct merge {
	const struct file_gcp *g;
	const char *path; /* the token file, as readers see it */
	bool has_auth, has_core, has_atf, has_project, has_account;
};

/* What a section lacks, written before it ends. */
static int merge_close(const struct merge *m, const char *sec, struct secbuf *b)
{
	int r = 0;

	if (!strcmp(sec, "auth") && !m->has_atf)
		r = secbuf_printf(b, "access_token_file = %s\n", m->path);
	if (!strcmp(sec, "core")) {
		if (!r && m->g->project && !m->has_project)
			r = secbuf_printf(b, "project = %s\n", m->g->project);
		if (!r && m->g->account && !m->has_account)
			r = secbuf_printf(b, "account = %s\n", m->g->account);
	}
	return r;
}

/* old with [auth] access_token_file set to m->path (every other line as
 * it was) and [core] project / account added where absent. */
static int merge_gcloud(struct merge *m, const char *old, size_t len,
			struct secbuf *b)
{
	char sec[64] = "", key[64];
	size_t blank = 0;
	int r = 0;

	for (const char *l = old, *e; l < old + len; l = e + 1) {
		e = memchr(l, '\n', (size_t)(old + len - l));
		if (!e)
			e = old + len;
		size_t n = (size_t)(e - l);
		if (ini_section(l, n, sec, sizeof(sec))) {
			m->has_auth |= !strcmp(sec, "auth");
			m->has_core |= !strcmp(sec, "core");
		} else if (!strcmp(sec, "core") &&
			   ini_key(l, n, key, sizeof(key))) {
			m->has_project |= !strcmp(key, "project");
			m->has_account |= !strcmp(key, "account");
		}
	}
	sec[0] = 0;
	for (const char *l = old, *e; !r && l < old + len; l = e + 1) {
		e = memchr(l, '\n', (size_t)(old + len - l));
		if (!e)
			e = old + len;
		size_t n = (size_t)(e - l);
		if (n == 0 || strspn(l, " \t\r") >= n) {
			blank++; /* kept after what a section lacks */
			continue;
		}
		if (ini_section(l, n, key, sizeof(key))) {
			if ((r = merge_close(m, sec, b)) < 0)
				break;
			snprintf(sec, sizeof(sec), "%s", key);
		}
		for (; blank && !r; blank--)
			r = secbuf_append(b, "\n", 1);
		if (r)
			break;
		if (!strcmp(sec, "auth") && ini_key(l, n, key, sizeof(key)) &&
		    !strcmp(key, "access_token_file")) {
			if (!m->has_atf)
				r = secbuf_printf(b, "access_token_file = %s\n",
						  m->path);
			m->has_atf = true; /* a repeat is dropped */
			continue;
		}
		if ((r = secbuf_append(b, l, n)) == 0)
			r = secbuf_append(b, "\n", 1);
	}
	if (!r)
		r = merge_close(m, sec, b);
	for (; blank && !r; blank--)
		r = secbuf_append(b, "\n", 1);
	if (!r && !m->has_auth)
		r = secbuf_printf(b, "%s[auth]\naccess_token_file = %s\n",
				  b->len ? "\n" : "", m->path);
	if (!r && !m->has_core &&
	    ((m->g->project && !m->has_project) ||
	     (m->g->account && !m->has_account))) {
		m->has_core = true;
		if ((r = secbuf_printf(b, "\n[core]\n")) == 0)
			r = merge_close(m, "core", b);
	}
	return r;
}

int render_gcp_seed(const struct file_cfg *f, const char *mountpoint,
		    const char *old, size_t len, struct secbuf *out,
		    struct error *err)
{
	const struct render_input in = {.file = f, .mountpoint = mountpoint};
	struct merge m = {.g = f->gcp};
	char path[4096];
	int r;

	if (!f->gcp) {
		error_set(err, EIO, "file %s: not checked", f->path);
		return -EIO;
	}
	if (old && f->format == FMT_STATIC)
		return 1; /* the user's (gcloud config configurations
			   * activate writes it) */
	if (!old)
		return render_gcp(&in, out, err);
	if ((r = token_path(&in, path, sizeof(path), err)) < 0)
		return r;
	m.path = path;
	if ((r = merge_gcloud(&m, old, len, out)) < 0)
		return r;
	return out->len == len && !memcmp(out->data, old, len) ? 1 : 0;
}
