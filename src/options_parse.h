/*
 * What the command-line parsers share: options.c (the option table, the
 * loop, --cpus, --memory, --help), options_devices.c (--serial, --console,
 * --disk, --net, --rng) and options_control.c (--vmi-timeout, --api-socket,
 * --gdb).  Each parser takes the option's value and fills cfg, or writes one
 * line into err and returns OPTIONS_ERROR.
 */
#ifndef VMSCOPE_OPTIONS_PARSE_H
#define VMSCOPE_OPTIONS_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "keyval.h"
#include "options.h"

/* printf-style pieces for a keyval item's key and value (not NUL-terminated). */
#define ITEM_FMT "%.*s"
#define ITEM_KEY(it) (int)(it)->key_len, (it)->key
#define ITEM_VAL(it) (int)(it)->val_len, (it)->val

/* Writes one line into err; control characters from argv become '?'. */
enum options_result opt__fail(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
bool opt__key_in(const struct keyval_item *it, const char *const *names, size_t n);
/* Splits a group; a syntax error is reported with the option's name. */
enum options_result opt__split(const char *opt, const char *val, struct keyval_group *g,
			       char *err, size_t errlen);
/* Checks that an item of a group has (or lacks) a value as its key requires. */
enum options_result opt__check_arity(const char *opt, const struct keyval_item *it,
				     bool wants_value, char *err, size_t errlen);
/* A number in [min, max] as the value of item it. */
enum options_result opt__parse_count(const char *opt, const struct keyval_item *it, uint64_t min,
				     uint64_t max, uint64_t *out, char *err, size_t errlen);

#define OPT_PARSER(name) \
	enum options_result name(const char *val, struct vm_config *cfg, char *err, size_t errlen)
OPT_PARSER(opt__serial);
OPT_PARSER(opt__console);
OPT_PARSER(opt__disk);
OPT_PARSER(opt__net);
OPT_PARSER(opt__rng);
OPT_PARSER(opt__vmi_timeout);
OPT_PARSER(opt__api_socket);
OPT_PARSER(opt__gdb);

#endif
