/*
 * libmicrohttpd, loaded with dlopen() only when --api-socket asks for the
 * REST API.  Linked normally it would bring GnuTLS and its dependencies
 * (about 3 MiB resident, initialised at load) into every VM, API or not.
 */
#ifndef VMSCOPE_API_MHD_LIB_H
#define VMSCOPE_API_MHD_LIB_H

#include <microhttpd.h>

/* The functions the API server calls, resolved by mhd_lib__load(). */
struct mhd_lib {
	struct MHD_Daemon *(*start_daemon)(unsigned int flags, uint16_t port,
					   MHD_AcceptPolicyCallback apc, void *apc_cls,
					   MHD_AccessHandlerCallback dh, void *dh_cls, ...);
	void (*stop_daemon)(struct MHD_Daemon *daemon);
	enum MHD_Result (*run)(struct MHD_Daemon *daemon);
	enum MHD_Result (*get_timeout)(struct MHD_Daemon *daemon, MHD_UNSIGNED_LONG_LONG *timeout);
	const union MHD_DaemonInfo *(*get_daemon_info)(struct MHD_Daemon *daemon,
							enum MHD_DaemonInfoType info_type, ...);
	const char *(*lookup_connection_value)(struct MHD_Connection *connection,
					       enum MHD_ValueKind kind, const char *key);
	struct MHD_Response *(*create_response_from_buffer)(size_t size, void *buffer,
							    enum MHD_ResponseMemoryMode mode);
	enum MHD_Result (*add_response_header)(struct MHD_Response *response, const char *header,
					       const char *content);
	enum MHD_Result (*queue_response)(struct MHD_Connection *connection,
					  unsigned int status_code, struct MHD_Response *response);
	void (*destroy_response)(struct MHD_Response *response);
};

/* Loads the library once; NULL after logging why when it cannot. */
const struct mhd_lib *mhd_lib__load(void);

#endif
