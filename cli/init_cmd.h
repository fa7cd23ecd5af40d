/* init: `credfs init` writes a credfs config equivalent to the profiles of
 * an existing ~/.aws/config (and the names of ~/.aws/credentials).
 *
 *   credfs init [--from FILE] [--credentials FILE] [-o OUT|-] [--force]
 *
 * Only names are read from the credentials file, never a key's value.
 * Every key of the AWS config that the new config does not carry is named
 * on stderr; a profile that cannot be expressed is left out and named.
 */
#ifndef CREDFS_INIT_CMD_H
#define CREDFS_INIT_CMD_H

/* argv[0] is the command's name ("init").  Returns the exit status: 0
 * written, 1 runtime failure (unreadable input, existing output without
 * --force, nothing to convert), 2 usage or an AWS config that is not INI.
 * The output defaults to $CREDFS_CONFIG, else
 * $XDG_CONFIG_HOME/credfs/config (~/.config/credfs/config). */
struct cli;
int cmd_init(struct cli *cli, int argc, char **argv);

/* The same, with default_out (borrowed; NULL = as above) as the output
 * when -o is not given: the wiring passes `credfs -c CONFIG init`'s path. */
int init_run(const char *default_out, int argc, char **argv);

#endif
