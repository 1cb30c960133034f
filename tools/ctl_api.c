/*
 * vmscope-ctl's REST API verbs: one HTTP/1.1 request per run on the
 * --api-socket unix socket ("Connection: close": the reply ends at EOF).
 * The verbs and their arguments are ch-remote's, so that a Cloud Hypervisor
 * user's scripts work with the program's name changed.
 */
#include "ctl.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define CTL_API_MAX_REPLY (1 << 20)
#define CTL_API_MAX_BODY (64 * 1024) /* what vmscope's API takes (API_MAX_BODY) */

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

/*
 * Sends the command's request (its row's method and path) with body, prints
 * the reply's body: exit status 0 on a 2xx reply, 1 on an error reply or an
 * I/O failure.
 */
static int request(struct ctl *c, const char *body)
{
	const char *socket_path = c->o->api_socket;
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	char *req = NULL, *reply = NULL, *p;
	size_t len = 0;
	int fd = -1, status = 1, code;

	if (!socket_path[0] || strlen(socket_path) >= sizeof(addr.sun_path)) {
		fprintf(stderr, "vmscope-ctl: bad --api-socket\n");
		return 2;
	}
	if (asprintf(&req, "%s /api/v1/%s HTTP/1.1\r\nHost: localhost\r\nAccept: */*\r\n"
		     "Content-Type: application/json\r\nContent-Length: %zu\r\n"
		     "Connection: close\r\n\r\n%s", c->cmd->method, c->cmd->path,
		     body ? strlen(body) : 0, body ? body : "") < 0) {
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
		fprintf(stderr, "vmscope-ctl: %s: HTTP %d: %s%s", c->cmd->name, code, p,
			*p && p[strlen(p) - 1] == '\n' ? "" : "\n");
	}
out:
	if (fd >= 0)
		close(fd);
	free(reply);
	free(req);
	return status;
}

int ctl_api__request(struct ctl *c, int argc, char **argv)
{
	(void)argc, (void)argv;
	return request(c, NULL);
}

/* create [FILE]: the VmConfig JSON of FILE (- or none: stdin). */
int ctl_api__create(struct ctl *c, int argc, char **argv)
{
	char *body = read_body(argc ? argv[0] : "-");
	int status;

	if (!body)
		return 1;
	status = request(c, body);
	free(body);
	return status;
}

/* coredump FILE: the server writes the file, so it gets an absolute file:// URL. */
int ctl_api__coredump(struct ctl *c, int argc, char **argv)
{
	char abs[PATH_MAX], *q, *url, *body = NULL;
	int status;

	(void)argc;
	if (strncmp(argv[0], "file://", 7) == 0)
		snprintf(abs, sizeof(abs), "%s", argv[0] + 7);
	else if (argv[0][0] == '/')
		snprintf(abs, sizeof(abs), "%s", argv[0]);
	else if (!getcwd(abs, sizeof(abs)) || strlen(abs) + 1 + strlen(argv[0]) >= sizeof(abs))
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
	status = request(c, body);
	free(body);
	return status;
}

/* ch-remote's verbs for what vmscope's API does not serve yet. */
int ctl_api__not_yet(struct ctl *c, int argc, char **argv)
{
	(void)argc, (void)argv;
	fprintf(stderr, "vmscope-ctl: %s: not supported by vmscope yet\n", c->cmd->name);
	return 2;
}
