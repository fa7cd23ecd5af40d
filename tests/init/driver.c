/* Runs `credfs init` through cmd_init, as the command table will. */
#include "cli/init_cmd.h"

#include <stddef.h>

int main(int argc, char **argv)
{
	return cmd_init(NULL, argc, argv);
}
