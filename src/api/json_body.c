/* A request body parsed strictly as one JSON object (see json_body.h). */
#include "api/json_body.h"

#include <stdio.h>
#include <string.h>

json_object *json_body__parse(const char *text, size_t len, char *err, size_t errlen)
{
	enum json_tokener_error e;
	json_tokener *tok;
	json_object *o;
	size_t end;

	if (!text || len == 0) {
		snprintf(err, errlen, "a JSON body is required");
		return NULL;
	}
	if (len > 0x7fffffff) {
		snprintf(err, errlen, "the body is too large");
		return NULL;
	}
	tok = json_tokener_new();
	if (!tok) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	o = json_tokener_parse_ex(tok, text, (int)len);
	e = json_tokener_get_error(tok);
	end = o ? json_tokener_get_parse_end(tok) : 0;
	json_tokener_free(tok);
	/* Trailing white space is fine; anything else after the object is not. */
	while (o && e == json_tokener_success && end < len && strchr(" \t\r\n", text[end]) &&
	       text[end] != '\0')
		end++;
	if (!o || e != json_tokener_success || end != len) {
		snprintf(err, errlen, "invalid JSON: %s",
			 e == json_tokener_continue ? "the text ends inside a value"
			 : e != json_tokener_success ? json_tokener_error_desc(e) : "trailing data");
		json_object_put(o);
		return NULL;
	}
	if (!json_object_is_type(o, json_type_object)) {
		snprintf(err, errlen, "the body must be a JSON object");
		json_object_put(o);
		return NULL;
	}
	return o;
}
