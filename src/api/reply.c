/* Building the API's replies; server.c sends them. */
#include <microhttpd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_internal.h"

void api_reply__text(struct api_reply *rp, unsigned status, const char *fmt, ...)
{
	va_list ap;
	char *msg = NULL;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	rp->status = status;
	rp->type = "text/plain";
	if (msg && asprintf(&rp->body, "%s\n", msg) < 0)
		rp->body = NULL;
	free(msg);
}

void api_reply__json(struct api_reply *rp, unsigned status, json_object *obj)
{
	const char *s = json_object_to_json_string_ext(
		obj, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);

	rp->status = status;
	rp->type = "application/json";
	rp->body = s ? strdup(s) : NULL;
	json_object_put(obj);
}

void api_reply__none(struct api_reply *rp)
{
	rp->status = MHD_HTTP_NO_CONTENT;
}
