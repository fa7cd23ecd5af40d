/* config_priv: what the config_*.c files share; no other module includes
 * it. */
#ifndef CREDFS_CONFIG_PRIV_H
#define CREDFS_CONFIG_PRIV_H

#include <stdbool.h>
#include <stdio.h>

struct config;
struct cfg_section;
struct diag;
struct profile_cfg;
struct file_cfg;
struct rules;

/* config_ini.c: sections and keys of f into c, problems into d. */
void config_read_ini(struct config *c, FILE *f, struct diag *d);

/* config_credfs.c */
bool cfg_parse_bool(const char *v, bool *out);
bool cfg_in_list(const char *const *list, const char *k);
void cfg_check_duplicates(const struct cfg_section *s, struct diag *d,
			  const char *const *repeatable);
void config_check_credfs(struct config *c, const struct cfg_section *s,
			 struct diag *d);

/* config_profile.c */
/* deny_preload of section s (a bool, dflt when absent) onto p. */
void config_set_deny_preload(struct rules *p, const struct cfg_section *s,
			     bool dflt, struct diag *d);
void config_check_profile(struct config *c, struct profile_cfg *p,
			  struct diag *d);
void config_check_cycles(struct config *c, struct diag *d);
void config_profile_free(struct profile_cfg *p);

/* config_file.c */
void config_check_file(struct config *c, struct file_cfg *f, struct diag *d);
void config_check_file_tree(struct config *c, struct diag *d);

#endif
