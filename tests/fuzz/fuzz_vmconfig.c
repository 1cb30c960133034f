/*
 * Fuzz target for vm.create's VmConfig parser (src/api/vmconfig.c, through
 * json-c and the command line's option parsers).  Built two ways, as
 * fuzz_vmi_msg.c: with clang's libFuzzer, or as a plain program
 * (FUZZ_STANDALONE) that mutates valid bodies for a bounded time:
 * fuzz_vmconfig [SECONDS]
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/vmconfig.h"
#include "memmap.h"

/* What the parser accepts must be safe for vm__create to act on. */
static void check(const struct vm_config *cfg)
{
	if (cfg->cpus_boot < 1 || cfg->cpus_boot > 4096 || cfg->memory_size % 4096 ||
	    cfg->memory_size < MEMMAP_MIN_RAM || cfg->nr_disks > CONFIG_MAX_DISKS ||
	    cfg->nr_nets > CONFIG_MAX_NETS)
		abort();
	for (unsigned i = 0; i < cfg->nr_disks; i++)
		if (!memchr(cfg->disks[i].path, 0, sizeof(cfg->disks[i].path)) ||
		    !cfg->disks[i].path[0])
			abort();
	for (unsigned i = 0; i < cfg->nr_nets; i++)
		if (!memchr(cfg->nets[i].tap, 0, sizeof(cfg->nets[i].tap)))
			abort();
	if (cfg->vmi_wait && !cfg->vmi_socket)
		abort();
	if ((cfg->kernel && !cfg->kernel[0]) || cfg->api_socket_path[0] || cfg->api_socket_fd != -1)
		abort(); /* a body never names an API socket */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[512] = "";
	struct vm_spec *spec = vmconfig__parse((const char *)data, size, err, sizeof(err));

	if (spec) {
		check(&spec->cfg);
		vm_spec__free(spec);
	} else if (!err[0] || strchr(err, '\n')) {
		abort(); /* every refusal says why, in one line */
	}
	return 0;
}

#ifdef FUZZ_STANDALONE
#include "xorshift.h"

static const char *const seeds[] = {
	"{\"payload\":{\"kernel\":\"/boot/vmlinuz\",\"initramfs\":\"/i.img\",\"cmdline\":\"console=hvc0\"},"
	"\"cpus\":{\"boot_vcpus\":2,\"max_vcpus\":2},\"memory\":{\"size\":536870912},"
	"\"disks\":[{\"path\":\"/d.img\",\"readonly\":true},{\"path\":\"/e,f.img\"}],"
	"\"net\":[{\"tap\":\"tap0\",\"mac\":\"12:34:56:78:9a:bc\",\"ip\":\"192.168.1.1\","
	"\"mask\":\"255.255.255.0\"}],\"rng\":{\"src\":\"/dev/urandom\"},"
	"\"serial\":{\"mode\":\"File\",\"file\":\"/tmp/s\"},\"console\":{\"mode\":\"Tty\"}}",
	"{\"vmscope\":{\"vmi_socket\":\"/tmp/v\",\"vmi_wait\":true,\"vmi_timeout_ms\":100,"
	"\"irqchip\":false,\"host_quirks\":false,\"gdb\":{\"path\":\"/tmp/g\",\"wait\":false}}}",
	"{\"cpus\":{\"boot_vcpus\":1},\"fs\":[],\"iommu\":false,\"console\":{\"mode\":\"Off\"}}",
};

/* Pieces that JSON and the option syntax care about. */
static const char *const tokens[] = {
	"\"", "{", "}", "[", "]", ",", ":", "=", "\\u0000", "null", "true", "-1",
	"18446744073709551616", "1e400", "\"disks\"", "\"path\"", "[[[[[[[[", "\\\"",
};

int main(int argc, char **argv)
{
	double secs = argc > 1 ? atof(argv[1]) : 5;
	time_t end = time(NULL) + (time_t)secs;
	unsigned long runs = 0, accepted = 0;
	char buf[4096];

	do {
		for (int i = 0; i < 2000; i++, runs++) {
			const char *seed = seeds[xorshift_next() % (sizeof(seeds) / sizeof(seeds[0]))];
			size_t len = strlen(seed);
			char err[512];
			struct vm_spec *spec;

			memcpy(buf, seed, len);
			for (int m = (int)(xorshift_next() % 4); m > 0; m--) {
				size_t at = len ? xorshift_next() % len : 0;

				switch (xorshift_next() % 4) {
				case 0: /* flip a byte */
					buf[at] = (char)xorshift_next();
					break;
				case 1: /* cut */
					len = at;
					break;
				case 2: { /* insert a token */
					const char *t = tokens[xorshift_next() % (sizeof(tokens) / sizeof(tokens[0]))];
					size_t tl = strlen(t);

					if (len + tl < sizeof(buf)) {
						memmove(buf + at + tl, buf + at, len - at);
						memcpy(buf + at, t, tl);
						len += tl;
					}
					break;
				}
				default: /* delete a span */
					if (at < len) {
						size_t n = 1 + xorshift_next() % (len - at);

						memmove(buf + at, buf + at + n, len - at - n);
						len -= n;
					}
				}
			}
			LLVMFuzzerTestOneInput((const uint8_t *)buf, len);
			spec = vmconfig__parse(buf, len, err, sizeof(err));
			accepted += spec != NULL;
			vm_spec__free(spec);
		}
	} while (time(NULL) < end);
	printf("fuzz_vmconfig: %lu inputs, %lu accepted, no finding\n", runs, accepted);
	return accepted ? 0 : 1;
}
#endif
