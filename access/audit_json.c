/* audit_json: the audit log's JSON writer (see audit_json.h). */
#include "access/audit_json.h"

#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void ajson_init(struct ajson *j)
{
	j->p = j->stack;
	j->len = 0;
	j->cap = sizeof(j->stack);
	j->oom = false;
	j->first = true;
}

void ajson_free(struct ajson *j)
{
	if (j->p != j->stack)
		free(j->p);
	j->p = j->stack;
	j->len = 0;
	j->cap = sizeof(j->stack);
}

void ajson_raw(struct ajson *j, const char *s, size_t n)
{
	if (j->oom)
		return;
	if (j->len + n + 1 > j->cap) {
		size_t cap = j->cap * 2;
		char *np;

		while (cap < j->len + n + 1)
			cap *= 2;
		np = j->p == j->stack ? malloc(cap) : realloc(j->p, cap);
		if (!np) {
			j->oom = true;
			return;
		}
		if (j->p == j->stack)
			memcpy(np, j->stack, j->len);
		j->p = np;
		j->cap = cap;
	}
	memcpy(j->p + j->len, s, n);
	j->len += n;
}

static void ajson_key(struct ajson *j, const char *key)
{
	if (!j->first)
		ajson_raw(j, ",", 1);
	j->first = false;
	ajson_str(j, key);
	ajson_raw(j, ":", 1);
}

size_t ajson_utf8_seq(const unsigned char *s, size_t left)
{
	size_t n, i;
	uint32_t cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		n = 2;
		cp = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		n = 3;
		cp = s[0] & 0x0f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		n = 4;
		cp = s[0] & 0x07;
	} else {
		return 0;
	}
	if (left < n)
		return 0;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((n == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
	    (n == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return n;
}

void ajson_str(struct ajson *j, const char *s)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t len, i, run, n;
	char esc[8];

	if (!s) {
		ajson_raw(j, "null", 4);
		return;
	}
	len = strlen(s);
	ajson_raw(j, "\"", 1);
	for (i = 0; i < len;) {
		for (run = i; run < len && u[run] >= 0x20 && u[run] < 0x80 &&
			      u[run] != '"' && u[run] != '\\';
		     run++)
			;
		ajson_raw(j, s + i, run - i);
		i = run;
		if (i >= len)
			break;
		if (u[i] >= 0x80) {
			n = ajson_utf8_seq(u + i, len - i);
			if (n)
				ajson_raw(j, s + i, n);
			else
				ajson_raw(j, "\xef\xbf\xbd", 3);
			i += n ? n : 1;
			continue;
		}
		switch (u[i]) {
		case '"':
			ajson_raw(j, "\\\"", 2);
			break;
		case '\\':
			ajson_raw(j, "\\\\", 2);
			break;
		case '\b':
			ajson_raw(j, "\\b", 2);
			break;
		case '\f':
			ajson_raw(j, "\\f", 2);
			break;
		case '\n':
			ajson_raw(j, "\\n", 2);
			break;
		case '\r':
			ajson_raw(j, "\\r", 2);
			break;
		case '\t':
			ajson_raw(j, "\\t", 2);
			break;
		default:
			snprintf(esc, sizeof(esc), "\\u%04x", u[i]);
			ajson_raw(j, esc, 6);
		}
		i++;
	}
	ajson_raw(j, "\"", 1);
}

void ajson_kstr(struct ajson *j, const char *key, const char *s)
{
	ajson_key(j, key);
	ajson_str(j, s);
}

static void ajson_int(struct ajson *j, long long v)
{
	char buf[24];
	int n = snprintf(buf, sizeof(buf), "%lld", v);

	ajson_raw(j, buf, (size_t)n);
}

void ajson_kint(struct ajson *j, const char *key, long long v)
{
	ajson_key(j, key);
	ajson_int(j, v);
}

void ajson_kbool(struct ajson *j, const char *key, bool v)
{
	ajson_key(j, key);
	ajson_raw(j, v ? "true" : "false", v ? 4 : 5);
}

void ajson_knull(struct ajson *j, const char *key)
{
	ajson_key(j, key);
	ajson_raw(j, "null", 4);
}

void ajson_kstrs(struct ajson *j, const char *key, const char *const *v,
		 size_t n)
{
	ajson_key(j, key);
	ajson_raw(j, "[", 1);
	for (size_t i = 0; i < n; i++) {
		if (i)
			ajson_raw(j, ",", 1);
		ajson_str(j, v[i]);
	}
	ajson_raw(j, "]", 1);
}

/* Numbers as cJSON prints them: whole ones without a fraction. */
static void ajson_number(struct ajson *j, double d)
{
	char buf[32];
	int n;

	if (d != d || d > 1.7976931348623157e308 ||
	    d < -1.7976931348623157e308) {
		ajson_raw(j, "null", 4);
		return;
	}
	if (d == (double)(long long)d && d < 9007199254740992.0 &&
	    d > -9007199254740992.0) {
		ajson_int(j, (long long)d);
		return;
	}
	n = snprintf(buf, sizeof(buf), "%1.15g", d);
	if (strtod(buf, NULL) != d)
		n = snprintf(buf, sizeof(buf), "%1.17g", d);
	ajson_raw(j, buf, (size_t)n);
}

static void ajson_value(struct ajson *j, const cJSON *v, int depth)
{
	const cJSON *it;
	bool first = true;

	if (depth > 16 || cJSON_IsNull(v) || cJSON_IsInvalid(v)) {
		ajson_raw(j, "null", 4);
	} else if (cJSON_IsTrue(v)) {
		ajson_raw(j, "true", 4);
	} else if (cJSON_IsFalse(v)) {
		ajson_raw(j, "false", 5);
	} else if (cJSON_IsNumber(v)) {
		ajson_number(j, v->valuedouble);
	} else if (cJSON_IsString(v)) {
		ajson_str(j, v->valuestring);
	} else if (cJSON_IsArray(v)) {
		ajson_raw(j, "[", 1);
		cJSON_ArrayForEach(it, v)
		{
			if (!first)
				ajson_raw(j, ",", 1);
			first = false;
			ajson_value(j, it, depth + 1);
		}
		ajson_raw(j, "]", 1);
	} else if (cJSON_IsObject(v)) {
		ajson_raw(j, "{", 1);
		cJSON_ArrayForEach(it, v)
		{
			if (!first)
				ajson_raw(j, ",", 1);
			first = false;
			ajson_str(j, it->string ? it->string : "");
			ajson_raw(j, ":", 1);
			ajson_value(j, it, depth + 1);
		}
		ajson_raw(j, "}", 1);
	} else {
		ajson_raw(j, "null", 4);
	}
}

void ajson_members(struct ajson *j, const cJSON *obj, const char *const *skip)
{
	const cJSON *it;
	const char *const *s;

	cJSON_ArrayForEach(it, obj)
	{
		if (!it->string)
			continue;
		for (s = skip; s && *s; s++)
			if (!strcmp(*s, it->string))
				break;
		if (s && *s)
			continue;
		ajson_key(j, it->string);
		ajson_value(j, it, 0);
	}
}
