/*
 * The options that open a way in for a controller: --vmi-timeout, --api-socket
 * and --gdb (see options_parse.h).
 */
#include "options_parse.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

#define VMI_TIMEOUT_MAX_MS 3600000u

enum options_result opt__vmi_timeout(const char *val, struct vm_config *cfg, char *err,
				     size_t errlen)
{
	uint64_t ms;

	if (keyval__parse_u64(val, strlen(val), &ms))
		return opt__fail(err, errlen, "--vmi-timeout: invalid number '%s'", val);
	if (ms < 1 || ms > VMI_TIMEOUT_MAX_MS)
		return opt__fail(err, errlen, "--vmi-timeout: '%s' out of range (1..%u ms)", val,
			    VMI_TIMEOUT_MAX_MS);
	cfg->vmi_timeout_ms = (uint32_t)ms;
	return OPTIONS_OK;
}

/*
 * --api-socket [path=]SOCKET or --api-socket fd=N: the REST API (src/api/),
 * on a unix socket vmscope creates, or on one it inherits already listening.
 */
enum options_result opt__api_socket(const char *val, struct vm_config *cfg, char *err,
				    size_t errlen)
{
	struct keyval_group g;
	enum options_result r = opt__split("api-socket", val, &g, err, errlen);
	uint64_t fd;

	if (r != OPTIONS_OK)
		return r;
	/* A bare value is the path, as Cloud Hypervisor accepts it. */
	if (g.count == 1 && !g.items[0].val && !keyval__key_is(&g.items[0], "path") &&
	    !keyval__key_is(&g.items[0], "fd")) {
		if (strlen(val) >= sizeof(cfg->api_socket_path))
			return opt__fail(err, errlen,
				    "--api-socket: path is longer than a unix socket allows (107)");
		strcpy(cfg->api_socket_path, val);
		return OPTIONS_OK;
	}
	for (size_t i = 0; i < g.count; i++) {
		const struct keyval_item *it = &g.items[i];

		if ((r = opt__check_arity("api-socket", it, true, err, errlen)) != OPTIONS_OK)
			return r;
		if (keyval__key_is(it, "path")) {
			if (it->val_len == 0)
				return opt__fail(err, errlen, "--api-socket: empty path");
			if (it->val_len >= sizeof(cfg->api_socket_path))
				return opt__fail(err, errlen,
					    "--api-socket: path is longer than a unix socket allows (107)");
			memcpy(cfg->api_socket_path, it->val, it->val_len);
			cfg->api_socket_path[it->val_len] = 0;
		} else if (keyval__key_is(it, "fd")) {
			if (keyval__parse_u64(it->val, it->val_len, &fd) || fd > INT32_MAX)
				return opt__fail(err, errlen, "--api-socket: invalid fd '" ITEM_FMT "'",
					    ITEM_VAL(it));
			if (fd <= 2)
				return opt__fail(err, errlen,
					    "--api-socket: fd=%u is stdin, stdout or stderr, not a socket",
					    (unsigned)fd);
			cfg->api_socket_fd = (int)fd;
		} else {
			return opt__fail(err, errlen, "--api-socket: unknown key '" ITEM_FMT "' (path, fd)",
				    ITEM_KEY(it));
		}
	}
	if (cfg->api_socket_path[0] && cfg->api_socket_fd >= 0)
		return opt__fail(err, errlen, "--api-socket: give path or fd, not both");
	return OPTIONS_OK;
}

/* "on" / "off" for key; false with an error otherwise. */
static bool on_off(const struct keyval_item *it, bool *out)
{
	if (it->val_len == 2 && memcmp(it->val, "on", 2) == 0)
		*out = true;
	else if (it->val_len == 3 && memcmp(it->val, "off", 3) == 0)
		*out = false;
	else
		return false;
	return true;
}

/*
 * --gdb path=SOCKET[,wait=on|off] or --gdb tcp=ADDR:PORT[,wait=on|off]
 * [,allow-remote=on]: the GDB stub on a unix socket (as Cloud Hypervisor) or
 * a TCP port.  The stub has no authentication and whoever connects reads
 * and writes all guest memory: TCP is loopback only unless allow-remote=on.
 */
enum options_result opt__gdb(const char *val, struct vm_config *cfg, char *err, size_t errlen)
{
	struct keyval_group g;
	enum options_result r = opt__split("gdb", val, &g, err, errlen);
	static char tcp[64];

	if (r != OPTIONS_OK)
		return r;
	cfg->gdb_wait = true;
	for (size_t i = 0; i < g.count; i++) {
		const struct keyval_item *it = &g.items[i];

		if ((r = opt__check_arity("gdb", it, true, err, errlen)) != OPTIONS_OK)
			return r;
		if (keyval__key_is(it, "path")) {
			if (it->val_len == 0)
				return opt__fail(err, errlen, "--gdb: empty path");
			if (it->val_len >= 108)
				return opt__fail(err, errlen, "--gdb: path is longer than a unix socket allows (107)");
			memcpy(cfg->gdb_path, it->val, it->val_len);
			cfg->gdb_path[it->val_len] = 0;
		} else if (keyval__key_is(it, "tcp")) {
			unsigned a, b, c, d, port;
			char tail;

			if (it->val_len >= sizeof(tcp))
				return opt__fail(err, errlen, "--gdb: invalid tcp address '" ITEM_FMT "'", ITEM_VAL(it));
			memcpy(tcp, it->val, it->val_len);
			tcp[it->val_len] = 0;
			if (sscanf(tcp, "%u.%u.%u.%u:%u%c", &a, &b, &c, &d, &port, &tail) != 5 ||
			    a > 255 || b > 255 || c > 255 || d > 255 || port == 0 || port > 65535)
				return opt__fail(err, errlen,
					    "--gdb: invalid tcp address '%s' (want IPv4:PORT, e.g. 127.0.0.1:1234)",
					    tcp);
			cfg->gdb_tcp_addr = (uint32_t)(a << 24 | b << 16 | c << 8 | d);
			cfg->gdb_tcp_port = (uint16_t)port;
		} else if (keyval__key_is(it, "wait")) {
			if (!on_off(it, &cfg->gdb_wait))
				return opt__fail(err, errlen, "--gdb: wait must be on or off, not '" ITEM_FMT "'",
					    ITEM_VAL(it));
		} else if (keyval__key_is(it, "allow-remote")) {
			if (!on_off(it, &cfg->gdb_allow_remote))
				return opt__fail(err, errlen,
					    "--gdb: allow-remote must be on or off, not '" ITEM_FMT "'",
					    ITEM_VAL(it));
		} else {
			return opt__fail(err, errlen,
				    "--gdb: unknown key '" ITEM_FMT "' (path, tcp, wait, allow-remote)",
				    ITEM_KEY(it));
		}
	}
	if (!cfg->gdb_path[0] == !cfg->gdb_tcp_port)
		return opt__fail(err, errlen, "--gdb: give exactly one of path=SOCKET or tcp=ADDR:PORT");
	if (cfg->gdb_tcp_port && cfg->gdb_tcp_addr >> 24 != 127 && !cfg->gdb_allow_remote)
		return opt__fail(err, errlen,
			    "--gdb: tcp=%s would take debuggers from other machines, and whoever "
			    "connects reads and writes all guest memory: use 127.0.0.1, a unix socket "
			    "(path=), or add allow-remote=on", tcp);
	return OPTIONS_OK;
}
