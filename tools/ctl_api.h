/*
 * vmscope-ctl's REST API verbs (tools/ctl_api.c): a small HTTP/1.1 client
 * over the --api-socket unix socket.
 */
#ifndef VMSCOPE_TOOLS_CTL_API_H
#define VMSCOPE_TOOLS_CTL_API_H

#include <stdbool.h>
#include <stdio.h>

/* True when cmd is one of the API verbs below. */
bool ctl_api__is_verb(const char *cmd);

/*
 * Runs one verb against the API socket, with ch-remote's names: ping,
 * create [FILE], boot, info, counters, pause, resume, shutdown, delete,
 * reboot, power-button, coredump FILE, shutdown-vmm.  Prints the reply body
 * (JSON for ping/info/counters) on stdout.  Returns the process
 * exit status: 0 on a 2xx reply, 1 on an error reply or I/O failure, 2 on
 * bad usage.
 */
int ctl_api__run(const char *socket_path, const char *cmd, int argc, char **argv);

/* One line per verb, for the usage text. */
void ctl_api__usage(FILE *f);

#endif
