/* registry: the table of every provider credfs knows. */
#ifndef CREDFS_REGISTRY_H
#define CREDFS_REGISTRY_H

#include "core/provider.h"

/* NULL-ended; pass it to config_load(). */
extern const struct provider_ops *const providers_all[];

/* provider_lookup(providers_all, name). */
const struct provider_ops *provider_find(const char *name);

#endif
