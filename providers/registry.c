/* registry: every provider, one line each. */
#include "provider.h"
#include <string.h>

extern const struct provider_ops provider_aws_static, provider_exec;
extern const struct provider_ops provider_aws_session_token,
    provider_aws_assume_role, provider_aws_web_identity, provider_aws_sso;

static const struct provider_ops *const registry[] = {
    &provider_aws_static,	 &provider_exec,
    &provider_aws_session_token, &provider_aws_assume_role,
    &provider_aws_web_identity,	 &provider_aws_sso,
};

const struct provider_ops *provider_find(const char *name)
{
	for (size_t i = 0; i < sizeof(registry) / sizeof(registry[0]); i++)
		if (strcmp(registry[i]->name, name) == 0)
			return registry[i];
	return NULL;
}

const char *provider_names(void)
{
	static char buf[512];
	static int done;

	if (!done) {
		buf[0] = 0;
		for (size_t i = 0; i < sizeof(registry) / sizeof(registry[0]);
		     i++) {
			if (buf[0])
				strcat(buf, ", ");
			strcat(buf, registry[i]->name);
		}
		done = 1;
	}
	return buf;
}
