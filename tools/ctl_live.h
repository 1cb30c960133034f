/* vmscope-ctl's live commands on a running VM (--socket PATH): ctl_live.c. */
#ifndef VMSCOPE_CTL_LIVE_H
#define VMSCOPE_CTL_LIVE_H

/* The command line was wrong: the caller prints the usage and exits with 2. */
#define CTL_LIVE_USAGE (-2)

/* Runs the live command of argv (options anywhere); its exit status or CTL_LIVE_USAGE. */
int ctl_live(int argc, char **argv);

#endif
