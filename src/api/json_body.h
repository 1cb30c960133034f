/* A request body parsed strictly as one JSON object (json-c). */
#ifndef VMSCOPE_API_JSON_BODY_H
#define VMSCOPE_API_JSON_BODY_H

#include <json-c/json.h>
#include <stddef.h>

/*
 * Parses text[0..len) as exactly one JSON object, with nothing after it but
 * white space.  Returns it (the caller puts it), or NULL with one line in err.
 */
json_object *json_body__parse(const char *text, size_t len, char *err, size_t errlen);

#endif
