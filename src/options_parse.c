/* Helpers shared by the command-line parsers (see options_parse.h). */
#include "options_parse.h"

#include <stdarg.h>
#include <stdio.h>

enum options_result opt__fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || errlen == 0)
		return OPTIONS_ERROR;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	for (char *p = err; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	return OPTIONS_ERROR;
}

bool opt__key_in(const struct keyval_item *it, const char *const *names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (keyval__key_is(it, names[i]))
			return true;
	return false;
}

enum options_result opt__split(const char *opt, const char *val, struct keyval_group *g, char *err,
			       size_t errlen)
{
	char why[256];

	if (keyval__split(val, g, why, sizeof(why)))
		return opt__fail(err, errlen, "--%s: %s", opt, why);
	return OPTIONS_OK;
}

enum options_result opt__check_arity(const char *opt, const struct keyval_item *it,
				     bool wants_value, char *err, size_t errlen)
{
	if (wants_value && !it->val)
		return opt__fail(err, errlen, "--%s: '" ITEM_FMT "' needs a value", opt, ITEM_KEY(it));
	if (!wants_value && it->val)
		return opt__fail(err, errlen, "--%s: '" ITEM_FMT "' takes no value", opt, ITEM_KEY(it));
	return OPTIONS_OK;
}

enum options_result opt__parse_count(const char *opt, const struct keyval_item *it, uint64_t min,
				     uint64_t max, uint64_t *out, char *err, size_t errlen)
{
	if (opt__check_arity(opt, it, true, err, errlen))
		return OPTIONS_ERROR;
	if (keyval__parse_u64(it->val, it->val_len, out))
		return opt__fail(err, errlen, "--%s: invalid number '" ITEM_FMT "' for " ITEM_FMT,
			    opt, ITEM_VAL(it), ITEM_KEY(it));
	if (*out < min || *out > max)
		return opt__fail(err, errlen,
			    "--%s: " ITEM_FMT "=" ITEM_FMT " out of range (%llu..%llu)", opt,
			    ITEM_KEY(it), ITEM_VAL(it), (unsigned long long)min,
			    (unsigned long long)max);
	return OPTIONS_OK;
}
