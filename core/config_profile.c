/* config_profile: [profile NAME] sections: the common keys, the provider's
 * own parse, and `source =` chains. */
#include "core/util.h"
#include "core/config.h"
#include "core/config_priv.h"
#include "core/provider.h"
#include "core/rules.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const profile_common[] = {
    "provider",	  "source",	  "endpoint",	"ca_file",
    "region",	  "timeout",	  "exec_allow", "exec_deny",
    "exportable", "deny_preload",
    "federation_endpoint", /* credfs login --console (cli/console_cmd.c) */
    NULL};
static const char *const profile_repeatable[] = {"exec_allow", "exec_deny",
						 NULL};

void config_set_deny_preload(struct rules *p, const struct cfg_section *s,
			     bool dflt, struct diag *d)
{
	const char *v = cfg_get(s, "deny_preload");
	bool b = dflt;

	if (v && !cfg_parse_bool(v, &b))
		diag_add(d, cfg_line(s, "deny_preload"),
			 "%s %s: deny_preload: '%s' is not yes or no", s->kind,
			 s->name ? s->name : "", v);
	rules_set_deny_preload(p, b);
}

/* exec_allow / exec_deny, deny_preload and exportable: who may `credfs
 * exec` the profile, as a file's allow/deny say who may open it. */
static void check_exec_keys(struct config *c, struct profile_cfg *p,
			    struct diag *d)
{
	const struct cfg_section *s = p->sec;
	char err[256];
	const char *v;

	if (!(p->exec_policy = rules_new(c->owner))) {
		diag_add(d, s->line, "profile %s: out of memory", p->name);
		return;
	}
	rules_set_deny_traced(p->exec_policy, c->deny_traced);
	config_set_deny_preload(p->exec_policy, s, c->deny_preload, d);
	for (size_t i = 0; i < s->nkv; i++) {
		bool allow = !strcmp(s->kv[i].key, "exec_allow");
		if (!allow && strcmp(s->kv[i].key, "exec_deny"))
			continue;
		err[0] = 0;
		if (rules_add(p->exec_policy, allow, s->kv[i].value,
			      s->kv[i].line, err, sizeof(err)) < 0)
			diag_add(d, s->kv[i].line, "profile %s: %s %s", p->name,
				 s->kv[i].key, err[0] ? err : "invalid rule");
	}
	/* profiles: narrows what a file shows; an exec is of one profile. */
	for (size_t i = 0; i < rules_count(p->exec_policy); i++)
		if (p->exec_policy->rules[i].profiles)
			diag_add(d, p->exec_policy->rules[i].line,
				 "profile %s: profiles: has no meaning in "
				 "exec_allow/exec_deny",
				 p->name);
	if ((v = cfg_get(s, "exportable")) &&
	    !cfg_parse_bool(v, &p->exportable))
		diag_add(d, cfg_line(s, "exportable"),
			 "profile %s: exportable: '%s' is not yes or no",
			 p->name, v);
}

const char *config_exec_refused(const struct config *c, int idx, char *buf,
				size_t len)
{
	const struct profile_cfg *p = &c->profiles[idx];

	if (p->exportable)
		return NULL;
	if (p->ops && !p->ops->cacheable) {
		snprintf(buf, len,
			 "profile %s is a long-lived key (provider %s); set "
			 "exportable = yes on it to allow credfs exec",
			 p->name, p->ops->name);
		return buf;
	}
	if (p->source >= 0)
		return NULL; /* a link of a chain: short-lived */
	for (size_t i = 0; i < c->nprofiles; i++)
		if (c->profiles[i].source == idx) {
			snprintf(buf, len,
				 "profile %s is the source of profile %s; set "
				 "exportable = yes on it to allow credfs exec",
				 p->name, c->profiles[i].name);
			return buf;
		}
	return NULL;
}

void config_check_profile(struct config *c, struct profile_cfg *p,
			  struct diag *d)
{
	const struct cfg_section *s = p->sec;
	const char *prov = cfg_get(s, "provider");

	cfg_check_duplicates(s, d, profile_repeatable);
	check_exec_keys(c, p, d);
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
		if (!cfg_in_list(profile_common, k) &&
		    !cfg_in_list(p->ops->keys, k))
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
	enum provider_source need = p->ops->source;
	p->common.has_source = src != NULL;
	if (!src && need == PROVIDER_SOURCE_REQUIRED)
		diag_add(d, s->line,
			 "profile %s: provider %s needs 'source = PROFILE'",
			 p->name, prov);
	if (src && need == PROVIDER_SOURCE_NONE)
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
	else if (t)
		p->common.timeout = secs;
	const char *ep = cfg_get(s, "endpoint");
	if (ep && strncmp(ep, "https://", 8) && strncmp(ep, "http://", 7))
		diag_add(d, cfg_line(s, "endpoint"),
			 "profile %s: endpoint must be an http(s) URL",
			 p->name);
	else if (ep)
		p->common.endpoint = strdup(ep);
	const char *v;
	if ((v = cfg_get(s, "region")))
		p->common.region = strdup(v);
	if ((v = cfg_get(s, "ca_file")) && *v)
		p->common.ca_file = config_expand_path(v);
	if (p->ops->parse && p->ops->parse(s, d, &p->state) == 0)
		p->free_state = p->ops->free_state;
}

void config_profile_free(struct profile_cfg *p)
{
	free(p->name);
	free(p->common.endpoint);
	free(p->common.region);
	free(p->common.ca_file);
	rules_free(p->exec_policy);
	if (p->state && p->free_state)
		p->free_state(p->state);
}

void config_check_cycles(struct config *c, struct diag *d)
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
