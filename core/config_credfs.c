/* config_credfs: the [credfs] section, and the checks every section
 * shares. */
#include "core/util.h"
#include "core/config.h"
#include "core/config_priv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

bool cfg_parse_bool(const char *v, bool *out)
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

bool cfg_in_list(const char *const *list, const char *k)
{
	for (size_t i = 0; list && list[i]; i++)
		if (strcmp(list[i], k) == 0)
			return true;
	return false;
}

void cfg_check_duplicates(const struct cfg_section *s, struct diag *d,
			  const char *const *repeatable)
{
	for (size_t i = 0; i < s->nkv; i++)
		for (size_t j = 0; j < i; j++)
			if (strcmp(s->kv[i].key, s->kv[j].key) == 0 &&
			    !cfg_in_list(repeatable, s->kv[i].key)) {
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
					  "deny_preload",
					  "audit_max_size",
					  "audit_max_age",
					  "audit_keep",
					  NULL};

/* audit_max_size (bytes, K/M/G suffix, powers of 1024), audit_max_age (a
 * duration), audit_keep (a count); 0 turns each off. */
static void audit_rotation_key(struct config *c, const struct cfg_kv *kv,
			       struct diag *d)
{
	const char *v = kv->value;
	char *end = NULL;
	long long n;
	int secs;

	if (!strcmp(kv->key, "audit_max_age")) {
		if (!strcmp(v, "0"))
			c->audit_max_age = 0;
		else if (util_duration_parse(v, &secs) < 0 || secs < 1)
			diag_add(d, kv->line,
				 "audit_max_age: '%s' is not a duration (like "
				 "1d, 12h) or 0",
				 v);
		else
			c->audit_max_age = secs;
		return;
	}
	n = *v >= '0' && *v <= '9' ? strtoll(v, &end, 10) : -1;
	if (!strcmp(kv->key, "audit_keep")) {
		if (n < 0 || *end || n > 100000)
			diag_add(d, kv->line,
				 "audit_keep: '%s' is not a count of segments "
				 "(0 keeps all)",
				 v);
		else
			c->audit_keep = (int)n;
		return;
	}
	if (n >= 0 && end) {
		static const char *const suf[] = {"", "K", "M", "G"};
		long long mul = 1;
		size_t i;

		for (i = 0; i < 4; i++, mul *= 1024)
			if (!strcasecmp(end, suf[i]) ||
			    (i && (end[0] & ~32) == suf[i][0] &&
			     (!strcasecmp(end + 1, "B") ||
			      !strcmp(end + 1, "iB"))))
				break;
		if (i < 4 && n <= (1LL << 50) / mul &&
		    (n == 0 || n * mul >= 4096)) {
			c->audit_max_size = n * mul;
			return;
		}
	}
	diag_add(d, kv->line,
		 "audit_max_size: '%s' is not a size of at least 4K (like "
		 "64M, 1G) or 0",
		 v);
}

void config_check_credfs(struct config *c, const struct cfg_section *s,
			 struct diag *d)
{
	cfg_check_duplicates(s, d, NULL);
	for (size_t i = 0; i < s->nkv; i++) {
		const struct cfg_kv *kv = &s->kv[i];
		bool b;
		int secs;

		if (!cfg_in_list(credfs_keys, kv->key)) {
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
		} else if (!strncmp(kv->key, "audit_max_", 10) ||
			   !strcmp(kv->key, "audit_keep")) {
			audit_rotation_key(c, kv, d);
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
			if (!cfg_parse_bool(kv->value, &b)) {
				diag_add(d, kv->line,
					 "%s: '%s' is not yes or no", kv->key,
					 kv->value);
				continue;
			}
			if (!strcmp(kv->key, "audit_required"))
				c->audit_required = b;
			else if (!strcmp(kv->key, "allow_other"))
				c->allow_other = b;
			else if (!strcmp(kv->key, "deny_preload"))
				c->deny_preload = b;
			else
				c->deny_traced = b;
		}
	}
}
