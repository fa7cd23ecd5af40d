/* aws_cmd: `credfs rotate` and `credfs revoke --deactivate-source`. */
#ifndef CREDFS_AWS_CMD_H
#define CREDFS_AWS_CMD_H

struct config;

/* credfs rotate PROFILE: exit status 0, 1 runtime, 2 usage. */
int aws_cmd_rotate(struct config *cfg, int argc, char **argv);
/* Sets the access key of the aws-static store entry at the root of
 * profile's source chain Inactive.  Exit status as above. */
int aws_cmd_deactivate_source(struct config *cfg, const char *profile);

#endif
