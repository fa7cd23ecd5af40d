/* config_ini: reads the INI text with libinih into sections of key/value
 * lines, keeping each line number and flagging what inih would silently
 * drop. */
#include "core/config.h"
#include "core/config_priv.h"

#include <ctype.h>
#include <ini.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* inih (as Debian builds it) reads lines of at most INI_MAX_LINE - 1
 * bytes and passes no line numbers; our reader counts lines, strips
 * indentation and `#` comments, and reports what inih would drop. */
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

void config_read_ini(struct config *c, FILE *f, struct diag *d)
{
	struct parse_state ps = {.cfg = c, .d = d, .f = f};

	ini_parse_stream(reader_sections, &ps, handler, &ps);
}
