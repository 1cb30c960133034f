#include "api/mhd_lib.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include "log.h"

/* The runtime library Debian's libmicrohttpd-dev builds against. */
#define MHD_SONAME "libmicrohttpd.so.12"

static struct mhd_lib mhd;
static bool mhd_loaded;

static void mhd_lib__load_once(void)
{
	static const struct { const char *name; size_t offset; } symbols[] = {
#define SYM(field, name) { name, offsetof(struct mhd_lib, field) }
		SYM(start_daemon, "MHD_start_daemon"),
		SYM(stop_daemon, "MHD_stop_daemon"),
		SYM(run, "MHD_run"),
		SYM(get_timeout, "MHD_get_timeout"),
		SYM(get_daemon_info, "MHD_get_daemon_info"),
		SYM(lookup_connection_value, "MHD_lookup_connection_value"),
		SYM(create_response_from_buffer, "MHD_create_response_from_buffer"),
		SYM(add_response_header, "MHD_add_response_header"),
		SYM(queue_response, "MHD_queue_response"),
		SYM(destroy_response, "MHD_destroy_response"),
#undef SYM
	};
	void *handle = dlopen(MHD_SONAME, RTLD_NOW | RTLD_LOCAL);

	if (!handle) {
		log_error("--api-socket: cannot load %s: %s", MHD_SONAME, dlerror());
		return;
	}
	for (size_t i = 0; i < sizeof(symbols) / sizeof(symbols[0]); i++) {
		void *fn = dlsym(handle, symbols[i].name);

		if (!fn) {
			log_error("--api-socket: %s lacks %s", MHD_SONAME, symbols[i].name);
			return;
		}
		/* Every field is a function pointer; POSIX lets dlsym results be used as one. */
		memcpy((char *)&mhd + symbols[i].offset, &fn, sizeof(fn));
	}
	mhd_loaded = true;
}

const struct mhd_lib *mhd_lib__load(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	pthread_once(&once, mhd_lib__load_once);
	return mhd_loaded ? &mhd : NULL;
}
