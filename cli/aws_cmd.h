/* aws_cmd: `credfs rotate` and `credfs revoke --deactivate-source`. */
#ifndef CREDFS_AWS_CMD_H
#define CREDFS_AWS_CMD_H

struct config;

/* `credfs rotate PROFILE` is cmd_rotate (cli.h). */
/* Sets the access key of the aws-static store entry at the root of
 * profile's source chain Inactive.  Exit status as above. */
int aws_cmd_deactivate_source(struct config *cfg, const char *profile);
/* The checks of aws_cmd_deactivate_source that need no key and no network
 * (the profile exists; its chain ends at an aws-static profile with
 * `secret =`): 0, or 2 with the reason printed.  For `credfs revoke` to
 * call before it revokes anything. */
int aws_cmd_deactivate_check(const struct config *cfg, const char *profile);

#endif
