/*
 * Splits Cloud Hypervisor style option groups: "key=value,key,key=value".
 *
 * Items are separated by commas, except inside [brackets] (nested) or inside a
 * value wholly wrapped in double quotes (file="a,b").  An item without '='
 * is valueless (the "tty" in --serial tty).  Nothing is copied or allocated:
 * items are spans into the caller's string.  What the keys mean is up to the
 * caller (options.c); this module only knows the syntax.
 */
#ifndef VMSCOPE_KEYVAL_H
#define VMSCOPE_KEYVAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define KEYVAL_MAX_ITEMS 16

struct keyval_item {
	const char *key;
	size_t key_len;
	const char *val; /* NULL when the item has no '=' */
	size_t val_len;  /* without the quotes when the value was quoted */
	bool quoted;
};

struct keyval_group {
	size_t count;
	struct keyval_item items[KEYVAL_MAX_ITEMS];
};

/*
 * Splits s into g.  Returns 0, or -1 with a one-line reason in err that names
 * the offending text but not the option (the caller prefixes that).  Refuses
 * an empty group, empty items ("a,,b"), empty keys ("=x"), empty values
 * ("a="), unbalanced brackets or quotes, and a key given twice.
 */
int keyval__split(const char *s, struct keyval_group *g, char *err, size_t errlen);

/* True when the item's key is exactly name. */
bool keyval__key_is(const struct keyval_item *it, const char *name);

/* True when the item has a value and it is exactly text. */
bool keyval__val_is(const struct keyval_item *it, const char *text);

/*
 * Strict unsigned decimal: digits only (no sign, space, or 0x), no overflow.
 * Returns 0 or -1.
 */
int keyval__parse_u64(const char *s, size_t len, uint64_t *out);

/*
 * A byte count: decimal digits with an optional K, M or G suffix (either
 * case, powers of 1024).  Returns 0, or -1 on bad syntax or overflow.
 */
int keyval__parse_size(const char *s, size_t len, uint64_t *out);

/*
 * Toggle as Cloud Hypervisor spells it: on/off/true/false, any case.
 * Returns 0 and sets *out, or -1.
 */
int keyval__parse_toggle(const char *s, size_t len, bool *out);

#endif
