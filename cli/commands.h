/* commands: the `credfs` subcommands other than mount. */
#ifndef CREDFS_COMMANDS_H
#define CREDFS_COMMANDS_H

struct config;

/* Each returns the exit status: 0, 1 runtime failure, 2 usage/config. */
int cmd_check(const char *path);
int cmd_status(struct config *cfg, int argc, char **argv);
int cmd_lock(struct config *cfg, int argc, char **argv);
int cmd_unlock(struct config *cfg, int argc, char **argv);
int cmd_revoke(struct config *cfg, int argc, char **argv);
int cmd_login(struct config *cfg, int argc, char **argv);
int cmd_refresh(struct config *cfg, int argc, char **argv);
int cmd_audit(struct config *cfg, int argc, char **argv);
int cmd_exec(struct config *cfg, int argc, char **argv);
int cmd_demo(const char *self, int argc, char **argv);

#endif
