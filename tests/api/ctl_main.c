/* A stand-alone driver of tools/ctl_api.c for tests: ctl_api SOCKET VERB [ARGS]. */
#include <stdio.h>

#include "ctl_api.h"

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: %s SOCKET VERB [ARGS]\n", argv[0]);
		ctl_api__usage(stderr);
		return 2;
	}
	return ctl_api__run(argv[1], argv[2], argc - 3, argv + 3);
}
