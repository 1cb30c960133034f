#include "host_quirks.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char *host_quirks__linux_cmdline(const char *cmdline, bool apply)
{
	char *out;

	if (!apply)
		return strdup(cmdline);
	if (asprintf(&out, "%s%s%s", cmdline, cmdline[0] ? " " : "", HOST_QUIRKS_LINUX_CMDLINE) < 0)
		return NULL;
	return out;
}
