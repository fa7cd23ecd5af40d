/* placeholder: replaced by the rotation work */
#include "aws_cmd.h"
#include <stdio.h>
int aws_cmd_rotate(struct config *cfg, int argc, char **argv)
{
	fprintf(stderr, "credfs: rotate: not built yet\n");
	return 1;
}
int aws_cmd_deactivate_source(struct config *cfg, const char *profile)
{
	fprintf(stderr, "credfs: revoke: --deactivate-source not built yet\n");
	return 1;
}
