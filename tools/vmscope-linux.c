/* vmscope-linux: the Linux views of ctl_linux.c as a program of their own. */
#include "ctl_linux.h"

int main(int argc, char **argv)
{
	return ctl_linux(argc, argv);
}
