/*
 * vmscope-ctl's REST API verbs: one HTTP/1.1 request per run on the
 * --api-socket unix socket ("Connection: close": the reply ends at EOF).
 * The verbs and their arguments are ch-remote's, so that a Cloud Hypervisor
 * user's scripts work with the program's name changed.
 */
#include "ctl_api.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define CTL_API_MAX_REPLY (1 << 20)
#define CTL_API_MAX_BODY (64 * 1024) /* what vmscope's API takes (API_MAX_BODY) */

static const struct ctl_api_verb {
	const char *verb;
	const char *method;
	const char *path;
	const char *help;
} verbs[] = {
	{ "ping", "GET", "vmm.ping", "ping              vmscope's version and pid (JSON)" },
	{ "create", "PUT", "vm.create",
	  "create [FILE]     create the VM from a VmConfig JSON file (- or none: stdin)" },
	{ "boot", "PUT", "vm.boot", "boot              boot the created VM" },
	{ "info", "GET", "vm.info", "info              configuration and state (JSON)" },
	{ "counters", "GET", "vm.counters", "counters          device counters, vCPU exits (JSON)" },
	{ "pause", "PUT", "vm.pause", "pause             pause every vCPU" },
	{ "resume", "PUT", "vm.resume", "resume            resume every vCPU" },
	{ "shutdown", "PUT", "vm.shutdown",
	  "shutdown          stop the guest; vmscope stays (boot, delete)" },
	{ "delete", "PUT", "vm.delete", "delete            stop the guest if it runs, forget the VM" },
	{ "reboot", "PUT", "vm.reboot", "reboot            stop with the reset status (4)" },
	{ "power-button", "PUT", "vm.power-button", "power-button      press the ACPI power button" },
	{ "coredump", "PUT", "vm.coredump",
	  "coredump FILE     ELF core of the paused VM (FILE or file:///PATH)" },
	{ "shutdown-vmm", "PUT", "vmm.shutdown", "shutdown-vmm      stop the guest and vmscope" },
	{ "vmm-shutdown", "PUT", "vmm.shutdown", NULL }, /* vmscope-ctl's older name */
};

/* ch-remote's verbs for what vmscope's API does not serve yet. */
static const char *const verbs_later[] = {
	"add-device", "add-disk", "add-fs", "add-net", "add-pmem", "add-user-device", "add-vdpa",
	"add-vsock", "nmi", "receive-migration", "remove-device", "resize", "resize-disk",
	"resize-zone", "restore", "send-migration", "snapshot",
};

#define NR_VERBS (sizeof(verbs) / sizeof(verbs[0]))

static const struct ctl_api_verb *find_verb(const char *cmd)
{
	for (size_t i = 0; i < NR_VERBS; i++)
		if (strcmp(verbs[i].verb, cmd) == 0)
			return &verbs[i];
	return NULL;
}

static bool is_later_verb(const char *cmd)
{
	for (size_t i = 0; i < sizeof(verbs_later) / sizeof(verbs_later[0]); i++)
		if (strcmp(verbs_later[i], cmd) == 0)
			return true;
	return false;
}

bool ctl_api__is_verb(const char *cmd)
{
	return cmd && (find_verb(cmd) != NULL || is_later_verb(cmd));
}

void ctl_api__usage(FILE *f)
{
	fputs("REST API commands (--api-socket PATH), as ch-remote names them:\n", f);
	for (size_t i = 0; i < NR_VERBS; i++)
		if (verbs[i].help)
			fprintf(f, "  %s\n", verbs[i].help);
}

/* The whole of FILE ("-": stdin), at most CTL_API_MAX_BODY bytes; NULL after saying why. */
static char *read_body(const char *path)
{
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
	char *buf;
	size_t n;

	if (!f) {
		fprintf(stderr, "vmscope-ctl: create: cannot open %s: %s\n", path, strerror(errno));
		return NULL;
	}
	buf = malloc(CTL_API_MAX_BODY + 2);
	n = buf ? fread(buf, 1, CTL_API_MAX_BODY + 1, f) : 0;
	if (f != stdin)
		fclose(f);
	if (!buf)
		return NULL;
	if (n > CTL_API_MAX_BODY) {
		fprintf(stderr, "vmscope-ctl: create: %s is larger than the API takes (%d bytes)\n",
			path, CTL_API_MAX_BODY);
		free(buf);
		return NULL;
	}
	buf[n] = '\0';
	if (strlen(buf) != n) {
		fprintf(stderr, "vmscope-ctl: create: %s holds a NUL byte: not JSON\n", path);
		free(buf);
		return NULL;
	}
	return buf;
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* JSON string escaping for a file path. */
static char *json_quote(const char *s)
{
	size_t n = strlen(s);
	char *out = malloc(6 * n + 3), *p = out;

	if (!out)
		return NULL;
	*p++ = '"';
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\') {
			*p++ = '\\';
			*p++ = (char)c;
		} else if (c < 0x20) {
			p += sprintf(p, "\\u%04x", c);
		} else {
			*p++ = (char)c;
		}
	}
	*p++ = '"';
	*p = '\0';
	return out;
}

int ctl_api__run(const char *socket_path, const char *cmd, int argc, char **argv)
{
	const struct ctl_api_verb *v = find_verb(cmd);
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	char *body = NULL, *req = NULL, *reply = NULL, *p;
	size_t len = 0;
	int fd = -1, status = 1, code;

	if (!v && is_later_verb(cmd)) {
		fprintf(stderr, "vmscope-ctl: %s: not supported by vmscope yet\n", cmd);
		return 2;
	}
	if (!v || !socket_path || strlen(socket_path) >= sizeof(addr.sun_path)) {
		fprintf(stderr, "vmscope-ctl: %s\n", !v ? "unknown API command" : "bad --api-socket");
		return 2;
	}
	if (strcmp(v->verb, "create") == 0) {
		if (argc > 1) {
			fprintf(stderr, "vmscope-ctl: create [FILE]\n");
			return 2;
		}
		body = read_body(argc ? argv[0] : "-");
		if (!body)
			return 1;
	} else if (strcmp(v->verb, "coredump") == 0) {
		char abs[PATH_MAX], *q, *url;

		if (argc != 1) {
			fprintf(stderr, "vmscope-ctl: coredump FILE\n");
			return 2;
		}
		/* The server writes the file: give it an absolute path. */
		if (strncmp(argv[0], "file://", 7) == 0)
			snprintf(abs, sizeof(abs), "%s", argv[0] + 7);
		else if (argv[0][0] == '/')
			snprintf(abs, sizeof(abs), "%s", argv[0]);
		else if (!getcwd(abs, sizeof(abs)) ||
			 strlen(abs) + 1 + strlen(argv[0]) >= sizeof(abs))
			return fprintf(stderr, "vmscope-ctl: path too long\n"), 2;
		else
			strcat(strcat(abs, "/"), argv[0]);
		if (asprintf(&url, "file://%s", abs) < 0)
			return 1;
		q = json_quote(url);
		free(url);
		if (!q || asprintf(&body, "{\"destination_url\":%s}", q) < 0)
			body = NULL;
		free(q);
		if (!body)
			return 1;
	} else if (argc != 0) {
		fprintf(stderr, "vmscope-ctl: %s takes no arguments\n", v->verb);
		return 2;
	}
	if (asprintf(&req, "%s /api/v1/%s HTTP/1.1\r\nHost: localhost\r\nAccept: */*\r\n"
		     "Content-Type: application/json\r\nContent-Length: %zu\r\n"
		     "Connection: close\r\n\r\n%s", v->method, v->path, body ? strlen(body) : 0,
		     body ? body : "") < 0) {
		req = NULL;
		goto out;
	}
	strcpy(addr.sun_path, socket_path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		fprintf(stderr, "vmscope-ctl: cannot connect to %s: %s\n", socket_path,
			strerror(errno));
		goto out;
	}
	if (write_all(fd, req, strlen(req)) < 0) {
		fprintf(stderr, "vmscope-ctl: sending the request failed: %s\n", strerror(errno));
		goto out;
	}
	reply = malloc(CTL_API_MAX_REPLY + 1);
	if (!reply)
		goto out;
	for (;;) {
		ssize_t n = read(fd, reply + len, CTL_API_MAX_REPLY - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
		if (len == CTL_API_MAX_REPLY)
			break;
	}
	reply[len] = '\0';
	if (sscanf(reply, "HTTP/1.%*d %d", &code) != 1) {
		fprintf(stderr, "vmscope-ctl: no HTTP reply from %s\n", socket_path);
		goto out;
	}
	p = strstr(reply, "\r\n\r\n");
	p = p ? p + 4 : reply + len;
	if (code >= 200 && code < 300) {
		if (*p)
			printf("%s%s", p, p[strlen(p) - 1] == '\n' ? "" : "\n");
		status = 0;
	} else {
		fprintf(stderr, "vmscope-ctl: %s: HTTP %d: %s%s", v->verb, code, p,
			*p && p[strlen(p) - 1] == '\n' ? "" : "\n");
	}
out:
	if (fd >= 0)
		close(fd);
	free(reply);
	free(req);
	free(body);
	return status;
}
