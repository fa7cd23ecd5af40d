/* provider_tool: drives one provider (or the store) for the python tests
 * of tests/oauth2 and tests/azure.  Test-only: it prints credentials.
 *
 * usage: provider-tool STATE_DIR COMMAND ARGS...
 *   (the store key is CREDFS_TEST_KEY, 64 hex digits)
 *   put ENTRY k=v...        store_put
 *   get ENTRY FIELD         prints the field
 *   fetch NAME k=v...       [profile NAME] from k=v (provider=...; a
 *                           `source_fetch=1` line fetches the profile
 *                           SOURCE_PROFILE given as s.k=v first);
 *                           prints {"r":..,"msg":..,"exp":..,"fields":{}}
 *   device NAME k=v...      RFC 8628: prints {"user_code",...} then
 *                           polls; prints the fetch result
 *   oidc jwks|discovery|rotate NAME k=v...   the oidc-issuer functions
 *   hammer ENTRY N          N store_puts of refresh_token=rt-I, printing
 *                           "I" after each returns
 */
#include <cjson/cJSON.h>
#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/config.h"
#include "core/cred.h"
#include "core/provider.h"
#include "core/secmem.h"
#include "core/util.h"
#include "crypto/sealed.h"
#include "crypto/store.h"
#include "providers/oauth2/oauth2.h"
#include "providers/oauth2/oidc_issuer.h"
#include "providers/registry.h"

static struct cfg_section *section(const char *name, const char *prefix,
				   int argc, char **argv)
{
	struct cfg_section *s = calloc(1, sizeof(*s));
	size_t pl = prefix ? strlen(prefix) : 0;

	s->kind = strdup("profile");
	s->name = strdup(name);
	s->file = "test";
	s->line = 1;
	s->kv = calloc((size_t)argc + 1, sizeof(*s->kv));
	for (int i = 0; i < argc; i++) {
		char *eq = strchr(argv[i], '=');
		const char *k = argv[i];
		if (!eq)
			continue;
		if (prefix) {
			if (strncmp(k, prefix, pl) != 0)
				continue;
			k += pl;
		} else if (!strncmp(k, "s.", 2)) {
			continue;
		}
		s->kv[s->nkv].key = strndup(k, (size_t)(eq - k));
		s->kv[s->nkv].value = strdup(eq + 1);
		s->kv[s->nkv].line = (int)s->nkv + 2;
		s->nkv++;
	}
	return s;
}

static void print_result(int r, const struct error *e, const struct cred *c)
{
	cJSON *o = cJSON_CreateObject(), *f = cJSON_CreateObject();
	char *s;

	cJSON_AddNumberToObject(o, "r", r);
	cJSON_AddStringToObject(o, "msg", e->msg);
	cJSON_AddNumberToObject(o, "exp", c ? (double)cred_expiration(c) : 0);
	for (size_t i = 0; c && i < cred_count(c); i++)
		cJSON_AddStringToObject(f, cred_name_at(c, i),
					cred_value_at(c, i));
	cJSON_AddItemToObject(o, "fields", f);
	s = cJSON_PrintUnformatted(o);
	printf("%s\n", s);
	fflush(stdout);
	cJSON_free(s);
	cJSON_Delete(o);
}

/* What config_load does for a profile: the common keys, the required
 * ones, then ops->parse (the first complaint becomes e). */
struct prepared {
	const struct provider_ops *ops;
	struct provider_common common;
	void *state;
};

static int prepare(const struct cfg_section *p, struct prepared *pp,
		   struct error *e)
{
	const char *pn = cfg_get(p, "provider");
	const char *ca = cfg_get(p, "ca_file");
	struct diag d = {.file = "test"};
	int r = 0;

	memset(pp, 0, sizeof(*pp));
	if (!(pp->ops = pn ? provider_find(pn) : NULL))
		return error_set(e, EINVAL, "no provider %s",
				 pn ? pn : "(unset)");
	pp->common.endpoint = cfg_strdup(p, "endpoint");
	pp->common.region = cfg_strdup(p, "region");
	pp->common.ca_file = ca && *ca ? config_expand_path(ca) : NULL;
	pp->common.has_source = cfg_get(p, "source") != NULL;
	for (size_t i = 0; pp->ops->required && pp->ops->required[i]; i++)
		if (!cfg_get(p, pp->ops->required[i]))
			diag_add(&d, p->line,
				 "profile %s: provider %s needs '%s'", p->name,
				 pn, pp->ops->required[i]);
	if (pp->ops->parse && (r = pp->ops->parse(p, &d, &pp->state)) < 0)
		error_set(e, -r, "%s", d.n ? d.msgs[0] : "parse failed");
	diag_free(&d);
	return r;
}

static void prepared_free(struct prepared *pp)
{
	if (pp->ops && pp->ops->free_state)
		pp->ops->free_state(pp->state);
	free(pp->common.endpoint);
	free(pp->common.region);
	free(pp->common.ca_file);
}

static int do_fetch(struct store *st, const char *name, int argc, char **argv,
		    const struct cred *src, struct cred **out, struct error *e)
{
	struct cfg_section *p = section(name, NULL, argc, argv);
	struct prepared pp;
	int r;

	*out = NULL;
	if ((r = prepare(p, &pp, e)) == 0) {
		struct provider_req req = {
		    .profile_name = name,
		    .common = &pp.common,
		    .state = pp.state,
		    .source = src,
		    .store = st,
		    .timeout_ms = 5000,
		};
		r = pp.ops->fetch(&req, out, e);
	}
	prepared_free(&pp);
	return r;
}

int main(int argc, char **argv)
{
	static uint8_t key[SEALED_KEY_BYTES];
	const char *hex = getenv("CREDFS_TEST_KEY");
	struct store *st = NULL;
	struct error e = {0};
	struct cred *c = NULL, *src = NULL;
	int r;

	if (argc < 3 || !hex || strlen(hex) != 2 * SEALED_KEY_BYTES) {
		fprintf(stderr, "usage: CREDFS_TEST_KEY=HEX provider-tool "
				"STATE_DIR COMMAND ...\n");
		return 2;
	}
	secmem_init_cjson();
	if (sodium_init() < 0)
		return 2;
	for (int i = 0; i < SEALED_KEY_BYTES; i++)
		key[i] = (uint8_t)(util_unhex_digit(hex[2 * i]) * 16 +
				   util_unhex_digit(hex[2 * i + 1]));
	if (store_open(argv[1], key, &st, &e) < 0) {
		fprintf(stderr, "store_open: %s\n", e.msg);
		return 1;
	}
	const char *cmd = argv[2];
	if (!strcmp(cmd, "put") && argc >= 4) {
		struct cfg_section *s =
		    section(argv[3], NULL, argc - 4, argv + 4);
		c = cred_new();
		for (size_t i = 0; i < s->nkv; i++)
			if (cred_set(c, s->kv[i].key, s->kv[i].value) < 0)
				return 1;
		r = store_put(st, argv[3], c, &e);
		if (r < 0)
			fprintf(stderr, "store_put: %s\n", e.msg);
		return r < 0;
	}
	if (!strcmp(cmd, "get") && argc == 5) {
		r = store_get(st, argv[3], &c, &e);
		if (r < 0) {
			fprintf(stderr, "store_get: %d %s\n", r, e.msg);
			return 1;
		}
		const char *v = cred_get(c, argv[4]);
		printf("%s\n", v ? v : "");
		return !v;
	}
	if (!strcmp(cmd, "hammer") && argc == 5) {
		int n = atoi(argv[4]);
		for (int i = 1; i <= n; i++) {
			char v[32];
			snprintf(v, sizeof(v), "rt-%d", i);
			if (!(c = cred_new()) ||
			    cred_set(c, "refresh_token", v) < 0 ||
			    store_put(st, argv[3], c, &e) < 0) {
				fprintf(stderr, "hammer: %s\n", e.msg);
				return 1;
			}
			cred_unref(c);
			printf("%d\n", i);
			fflush(stdout);
		}
		return 0;
	}
	if (!strcmp(cmd, "fetch") && argc >= 4) {
		struct cfg_section *sp =
		    section("src", "s.", argc - 4, argv + 4);
		if (sp->nkv) {
			char *sargv[64];
			int sn = 0;
			for (int i = 4; i < argc && sn < 64; i++)
				if (!strncmp(argv[i], "s.", 2))
					sargv[sn++] = argv[i] + 2;
			r = do_fetch(st, "src", sn, sargv, NULL, &src, &e);
			if (r < 0) {
				print_result(r, &e, NULL);
				return 1;
			}
		}
		r = do_fetch(st, argv[3], argc - 4, argv + 4, src, &c, &e);
		print_result(r, &e, c);
		return r < 0;
	}
	if (!strcmp(cmd, "device") && argc >= 4) {
		struct cfg_section *p =
		    section(argv[3], NULL, argc - 4, argv + 4);
		struct prepared pp;
		if ((r = prepare(p, &pp, &e)) < 0) {
			print_result(r, &e, NULL);
			return 1;
		}
		struct provider_req req = {
		    .profile_name = argv[3],
		    .common = &pp.common,
		    .state = pp.state,
		    .store = st,
		    .timeout_ms = 5000,
		};
		struct oauth2_device d;
		if ((r = oauth2_device_start(&req, &d, &e)) < 0) {
			print_result(r, &e, NULL);
			return 1;
		}
		printf("{\"user_code\":\"%s\",\"verification_uri\":\"%s\","
		       "\"interval\":%d}\n",
		       d.user_code, d.verification_uri, d.interval);
		fflush(stdout);
		int polls = 0;
		do {
			sleep((unsigned)d.interval);
			polls++;
			r = oauth2_device_poll(&req, &d, &c, &e);
			fprintf(stderr, "poll %d: %d %s (interval %d)\n", polls,
				r, e.msg, d.interval);
		} while (r == -EAGAIN);
		print_result(r, &e, c);
		oauth2_device_free(&d);
		prepared_free(&pp);
		return r < 0;
	}
	if (!strcmp(cmd, "oidc") && argc >= 5) {
		struct cfg_section *p =
		    section(argv[4], NULL, argc - 5, argv + 5);
		char *json = NULL;
		if (!strcmp(argv[3], "jwks"))
			r = oidc_issuer_jwks(st, argv[4], p, &json, &e);
		else if (!strcmp(argv[3], "discovery"))
			r = oidc_issuer_discovery(argv[4], p, &json, &e);
		else
			r = oidc_issuer_rotate(st, argv[4], p, &e);
		if (r < 0)
			fprintf(stderr, "%s\n", e.msg);
		else if (json)
			printf("%s\n", json);
		free(json);
		return r < 0;
	}
	fprintf(stderr, "provider-tool: bad command\n");
	return 2;
}
