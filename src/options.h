/*
 * The command line, in Cloud Hypervisor's syntax: every option is parsed and
 * validated here, into struct vm_config.  Groups such as --cpus boot=2,max=4
 * are split by keyval.c; what each key means is decided here.
 */
#ifndef VMSCOPE_OPTIONS_H
#define VMSCOPE_OPTIONS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "config.h"

/* Result of parsing the command line. */
enum options_result {
	OPTIONS_OK,
	OPTIONS_EXIT,  /* --help or --version printed; exit 0 */
	OPTIONS_ERROR, /* err holds one line; exit 2 (EXIT_USAGE) */
};

/*
 * Fills cfg with the defaults, then with argv[1..argc-1].  Strings in cfg
 * point into argv, so argv must outlive cfg.  On OPTIONS_ERROR err holds one
 * line without a trailing newline that names the option and the value; cfg
 * is then only partly filled.  Prints nothing except the --help and
 * --version text, on stdout.  Keeps no state between calls.
 */
enum options_result options__parse(int argc, char **argv, struct vm_config *cfg,
				   char *err, size_t errlen);

/*
 * A configuration built one option at a time: what options__parse does with
 * argv, and what the REST API's vm.create does with a VmConfig JSON body
 * (src/api/vmconfig_json.c), so the two are validated by the same code.
 */
struct options_builder {
	struct vm_config *cfg;
	uint32_t seen; /* one bit per option given */
};

/* Fills cfg with the defaults and starts b on it. */
void options__begin(struct options_builder *b, struct vm_config *cfg);

/*
 * Applies the option called name (without "--") with its value, NULL for a
 * flag, as if given on the command line.  cfg may keep pointers into val.
 * Returns OPTIONS_OK or OPTIONS_ERROR with one line in err.
 */
enum options_result options__set(struct options_builder *b, const char *name, const char *val,
				 char *err, size_t errlen);

/* The checks that need every option: call once, after the last options__set. */
enum options_result options__end(struct options_builder *b, char *err, size_t errlen);

/* The --help text. */
void options__usage(FILE *out);

#endif
