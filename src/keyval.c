#include "keyval.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static int fail(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -1;
}

/* Fills *it from the item text [p, p + len), which holds no separating comma. */
static int split_item(const char *p, size_t len, struct keyval_item *it, char *err, size_t errlen)
{
	const char *eq = memchr(p, '=', len);
	size_t key_len = eq ? (size_t)(eq - p) : len;

	if (key_len == 0)
		return fail(err, errlen, "missing key in '%.*s'", (int)len, p);
	if (strcspn(p, "\"[]") < key_len)
		return fail(err, errlen, "invalid key '%.*s'", (int)key_len, p);

	*it = (struct keyval_item){ .key = p, .key_len = key_len };
	if (!eq)
		return 0;

	it->val = eq + 1;
	it->val_len = len - key_len - 1;
	if (memchr(it->val, '"', it->val_len)) {
		/* Only a value wholly inside one pair of quotes: file="a,b". */
		if (it->val_len < 2 || it->val[0] != '"' || it->val[it->val_len - 1] != '"' ||
		    memchr(it->val + 1, '"', it->val_len - 2))
			return fail(err, errlen, "misplaced quote in '%.*s'", (int)len, p);
		it->val++;
		it->val_len -= 2;
		it->quoted = true;
	}
	if (it->val_len == 0)
		return fail(err, errlen, "empty value for '%.*s'", (int)key_len, p);
	return 0;
}

int keyval__split(const char *s, struct keyval_group *g, char *err, size_t errlen)
{
	const char *start = s;
	int depth = 0;
	bool in_quotes = false;

	g->count = 0;
	if (*s == '\0')
		return fail(err, errlen, "empty value");

	for (const char *p = s;; p++) {
		char c = *p;

		if (c == '"') {
			in_quotes = !in_quotes;
		} else if (in_quotes && c != '\0') {
			continue;
		} else if (c == '[') {
			depth++;
		} else if (c == ']') {
			if (--depth < 0)
				return fail(err, errlen, "unbalanced ']' in '%s'", s);
		} else if ((c == ',' && depth == 0) || c == '\0') {
			size_t len = (size_t)(p - start);
			struct keyval_item *it;

			if (c == '\0' && (in_quotes || depth != 0))
				return fail(err, errlen, "unbalanced %s in '%s'",
					    in_quotes ? "quotes" : "brackets", s);
			if (len == 0)
				return fail(err, errlen, "empty item in '%s'", s);
			if (g->count == KEYVAL_MAX_ITEMS)
				return fail(err, errlen, "more than %d items in '%s'",
					    KEYVAL_MAX_ITEMS, s);
			it = &g->items[g->count];
			if (split_item(start, len, it, err, errlen))
				return -1;
			for (size_t i = 0; i < g->count; i++)
				if (g->items[i].key_len == it->key_len &&
				    memcmp(g->items[i].key, it->key, it->key_len) == 0)
					return fail(err, errlen, "key '%.*s' given more than once",
						    (int)it->key_len, it->key);
			g->count++;
			if (c == '\0')
				return 0;
			start = p + 1;
		}
	}
}

bool keyval__key_is(const struct keyval_item *it, const char *name)
{
	return strlen(name) == it->key_len && memcmp(it->key, name, it->key_len) == 0;
}

bool keyval__val_is(const struct keyval_item *it, const char *text)
{
	return it->val && strlen(text) == it->val_len && memcmp(it->val, text, it->val_len) == 0;
}

int keyval__parse_u64(const char *s, size_t len, uint64_t *out)
{
	char buf[32];
	char *end;
	unsigned long long v;

	/* strtoull would accept space, a sign (even '-') and 0x: refuse them first. */
	if (len == 0 || len >= sizeof(buf))
		return -1;
	for (size_t i = 0; i < len; i++)
		if (s[i] < '0' || s[i] > '9')
			return -1;
	memcpy(buf, s, len);
	buf[len] = '\0';
	errno = 0;
	v = strtoull(buf, &end, 10);
	if (errno != 0 || *end != '\0')
		return -1;
	*out = v;
	return 0;
}

int keyval__parse_size(const char *s, size_t len, uint64_t *out)
{
	unsigned shift = 0;
	uint64_t v;

	if (len > 0) {
		switch (s[len - 1]) {
		case 'k': case 'K': shift = 10; break;
		case 'm': case 'M': shift = 20; break;
		case 'g': case 'G': shift = 30; break;
		}
		if (shift)
			len--;
	}
	if (keyval__parse_u64(s, len, &v) || v > (UINT64_MAX >> shift))
		return -1;
	*out = v << shift;
	return 0;
}

int keyval__parse_toggle(const char *s, size_t len, bool *out)
{
	static const struct { const char *name; bool on; } names[] = {
		{ "on", true }, { "true", true }, { "off", false }, { "false", false },
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (strlen(names[i].name) == len && strncasecmp(s, names[i].name, len) == 0) {
			*out = names[i].on;
			return 0;
		}
	}
	return -1;
}
