/*
 * virtio-net driven from the host side, on a tap the device creates inside a
 * network namespace of the test's own (unshare(CLONE_NEWNET)): frames the
 * driver sends arrive on the tap, frames sent on the tap fill its buffers.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "kvm_required.h"
#include "log.h"
#include "vdrv.h"

#define TX_BUF (VDRV_DATA_BASE)
#define RX_BUF (VDRV_DATA_BASE + 0x100000) /* 16 buffers of 2 KiB */
#define HOST_IP  "10.11.12.1"
#define GUEST_IP "10.11.12.2"

struct fixture {
	struct vm_config cfg;
	struct vdrv_vm v;
	struct vdrv d;
	char ifname[IF_NAMESIZE];
	int ifindex;
	uint8_t host_mac[6], guest_mac[6];
};

/* The tap the device created: the namespace's only interface besides lo. */
static void find_tap(struct fixture *f)
{
	struct if_nameindex *all = if_nameindex(), *i;

	assert_non_null(all);
	for (i = all; i->if_index; i++)
		if (strcmp(i->if_name, "lo") != 0) {
			snprintf(f->ifname, sizeof(f->ifname), "%s", i->if_name);
			f->ifindex = (int)i->if_index;
		}
	if_freenameindex(all);
	assert_true(f->ifindex > 0);
}

static void post_rx_buffers(struct fixture *f, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		vdrv__submit(&f->d, 0, (uint16_t)i,
			     (struct vdrv_buf[]){ { RX_BUF + i * 2048ULL, 2048, true } }, 1, 0);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct ifreq ifr;
	int s;

	vdrv__default_config(&f->cfg);
	f->cfg.nr_nets = 1;
	inet_pton(AF_INET, HOST_IP, &f->cfg.nets[0].ip);
	inet_pton(AF_INET, "255.255.255.0", &f->cfg.nets[0].mask);
	memcpy(f->cfg.nets[0].mac, (uint8_t[]){ 0x52, 0x54, 0x00, 0xab, 0xcd, 0xef }, 6);
	f->cfg.nets[0].have_mac = true;
	assert_int_equal(vdrv__vm_create(&f->v, &f->cfg), 0);
	find_tap(f);
	assert_int_equal(vdrv__open(&f->d, f->v.vm, 0x1041, 0), 0);
	assert_int_equal(vdrv__init(&f->d, ~0ULL, 2, 64), 0);
	for (unsigned i = 0; i < 6; i++)
		f->guest_mac[i] = (uint8_t)vdrv__rd(f->v.vm, f->d.device + i, 1);
	s = socket(AF_INET, SOCK_DGRAM, 0);
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", f->ifname);
	assert_int_equal(ioctl(s, SIOCGIFHWADDR, &ifr), 0);
	memcpy(f->host_mac, ifr.ifr_hwaddr.sa_data, 6);
	close(s);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	vdrv__vm_destroy(&f->v);
	free(f);
	return 0;
}

static void test_tap_created(void **state)
{
	struct fixture *f = *state;
	struct ifreq ifr;
	char ip[16];
	int s = socket(AF_INET, SOCK_DGRAM, 0);

	assert_int_equal(strncmp(f->ifname, "tap", 3), 0);
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", f->ifname);
	assert_int_equal(ioctl(s, SIOCGIFADDR, &ifr), 0);
	inet_ntop(AF_INET, &((struct sockaddr_in *)&ifr.ifr_addr)->sin_addr, ip, sizeof(ip));
	assert_string_equal(ip, HOST_IP);
	assert_int_equal(ioctl(s, SIOCGIFNETMASK, &ifr), 0);
	inet_ntop(AF_INET, &((struct sockaddr_in *)&ifr.ifr_addr)->sin_addr, ip, sizeof(ip));
	assert_string_equal(ip, "255.255.255.0");
	assert_int_equal(ioctl(s, SIOCGIFFLAGS, &ifr), 0);
	assert_true(ifr.ifr_flags & IFF_UP);
	close(s);

	assert_memory_equal(f->guest_mac, ((uint8_t[]){ 0x52, 0x54, 0x00, 0xab, 0xcd, 0xef }), 6);
	assert_int_equal(vdrv__rd(f->v.vm, f->d.device + 6, 2), 1); /* link up */
	assert_true(vdrv__device_features(&f->d) & (1ULL << 5));
}

static uint16_t ip_checksum(const uint8_t *p, size_t len)
{
	uint32_t sum = 0;

	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* An Ethernet + IPv4 + UDP frame from the guest to the host's port. */
static size_t build_udp(struct fixture *f, uint8_t *b, const char *payload, uint16_t port)
{
	size_t plen = strlen(payload), iplen = 20 + 8 + plen;
	uint8_t *ip = b + 14, *udp = ip + 20;
	uint16_t c;

	memcpy(b, f->host_mac, 6);
	memcpy(b + 6, f->guest_mac, 6);
	b[12] = 0x08;
	b[13] = 0x00;
	memset(ip, 0, 20);
	ip[0] = 0x45;
	ip[2] = (uint8_t)(iplen >> 8);
	ip[3] = (uint8_t)iplen;
	ip[8] = 64;
	ip[9] = 17;
	inet_pton(AF_INET, GUEST_IP, ip + 12);
	inet_pton(AF_INET, HOST_IP, ip + 16);
	c = ip_checksum(ip, 20);
	ip[10] = (uint8_t)(c >> 8);
	ip[11] = (uint8_t)c;
	udp[0] = 0x30;
	udp[1] = 0x39; /* source port 12345 */
	udp[2] = (uint8_t)(port >> 8);
	udp[3] = (uint8_t)port;
	udp[4] = (uint8_t)((8 + plen) >> 8);
	udp[5] = (uint8_t)(8 + plen);
	udp[6] = udp[7] = 0; /* no checksum */
	memcpy(udp + 8, payload, plen);
	return 14 + iplen;
}

static void test_tx_reaches_host(void **state)
{
	struct fixture *f = *state;
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(5555) };
	uint8_t *hdr = vdrv__ptr(&f->d, TX_BUF, 4096);
	char got[64] = "";
	struct pollfd pfd;
	uint32_t id, len;
	size_t flen;
	int s = socket(AF_INET, SOCK_DGRAM, 0);

	inet_pton(AF_INET, HOST_IP, &sin.sin_addr);
	assert_int_equal(bind(s, (struct sockaddr *)&sin, sizeof(sin)), 0);

	/* Header and frame in separate descriptors, as Linux sends them. */
	memset(hdr, 0, 12);
	flen = build_udp(f, hdr + 64, "hello from the guest", 5555);
	vdrv__submit(&f->d, 1, 0, (struct vdrv_buf[]){ { TX_BUF, 12, false },
						       { TX_BUF + 64, (uint32_t)flen, false } }, 2, 0);
	assert_int_equal(vdrv__wait_used(&f->d, 1, 3000, &id, &len), 0);
	assert_int_equal(id, 0);
	assert_true(vdrv__wait_irq(&f->d, 2, 2000));

	pfd = (struct pollfd){ .fd = s, .events = POLLIN };
	assert_int_equal(poll(&pfd, 1, 3000), 1);
	assert_int_equal(recv(s, got, sizeof(got) - 1, 0), 20);
	assert_string_equal(got, "hello from the guest");
	close(s);
}

static bool wait_frame(struct fixture *f, uint16_t ethertype, const uint8_t *want, size_t want_len,
		       unsigned nbufs)
{
	for (unsigned tries = 0; tries < nbufs; tries++) {
		uint32_t id, len;
		uint8_t *b;

		if (vdrv__wait_used(&f->d, 0, 3000, &id, &len) < 0)
			return false;
		assert_true(id < nbufs);
		b = vdrv__ptr(&f->d, RX_BUF + id * 2048ULL, 2048);
		assert_true(len >= 12 + 14 && len <= 2048);
		assert_int_equal(b[10] | b[11] << 8, 1); /* num_buffers */
		if ((b[12 + 12] << 8 | b[12 + 13]) != ethertype)
			continue; /* something else the host sent (IPv6 neighbour discovery...) */
		if (want && (len != 12 + want_len || memcmp(b + 12, want, want_len) != 0))
			continue;
		return true;
	}
	return false;
}

static void test_rx_from_host(void **state)
{
	struct fixture *f = *state;
	struct sockaddr_ll ll = { .sll_family = AF_PACKET, .sll_ifindex = f->ifindex, .sll_halen = 6 };
	uint8_t frame[100];
	int p = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL));

	assert_true(p >= 0);
	post_rx_buffers(f, 16);
	/* A raw frame sent on the tap lands in a receive buffer, behind the header. */
	memcpy(frame, f->guest_mac, 6);
	memcpy(frame + 6, f->host_mac, 6);
	frame[12] = 0x88;
	frame[13] = 0xb5; /* local experimental ethertype */
	for (unsigned i = 14; i < sizeof(frame); i++)
		frame[i] = (uint8_t)i;
	memcpy(ll.sll_addr, f->guest_mac, 6);
	assert_int_equal(sendto(p, frame, sizeof(frame), 0, (struct sockaddr *)&ll, sizeof(ll)),
			 sizeof(frame));
	assert_true(wait_frame(f, 0x88b5, frame, sizeof(frame), 16));
	close(p);

	/* The host's stack talking to the guest's address asks for it with ARP. */
	{
		struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(7) };
		int s = socket(AF_INET, SOCK_DGRAM, 0);

		inet_pton(AF_INET, GUEST_IP, &to.sin_addr);
		sendto(s, "x", 1, 0, (struct sockaddr *)&to, sizeof(to));
		close(s);
		assert_true(wait_frame(f, 0x0806, NULL, 0, 15));
	}
}

static void test_rx_waits_for_buffers(void **state)
{
	struct fixture *f = *state;
	struct sockaddr_ll ll = { .sll_family = AF_PACKET, .sll_ifindex = f->ifindex, .sll_halen = 6 };
	uint8_t frame[1500], small[64];
	int p = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL));

	memset(frame, 0x42, sizeof(frame));
	memcpy(frame, f->guest_mac, 6);
	memcpy(frame + 6, f->host_mac, 6);
	frame[12] = 0x88;
	frame[13] = 0xb5;
	memcpy(small, frame, sizeof(small));
	memcpy(ll.sll_addr, f->guest_mac, 6);
	/* No buffers yet: the frame waits in the tap. */
	assert_int_equal(sendto(p, frame, sizeof(frame), 0, (struct sockaddr *)&ll, sizeof(ll)),
			 sizeof(frame));
	usleep(100000);
	/* A buffer too small for it: the frame is dropped, the buffer kept for the next one. */
	vdrv__submit(&f->d, 0, 0, (struct vdrv_buf[]){ { RX_BUF, 12 + 100, true } }, 1, 0);
	assert_int_equal(sendto(p, small, sizeof(small), 0, (struct sockaddr *)&ll, sizeof(ll)),
			 sizeof(small));
	assert_true(wait_frame(f, 0x88b5, small, sizeof(small), 1));
	assert_int_equal(vdrv__status(&f->d), 0xf);
	close(p);
}

static void test_malformed_tx(void **state)
{
	struct fixture *f = *state;
	struct virtq_desc *desc = vdrv__desc(&f->d, 1);

	/* A TX chain that loops through two descriptors: refused, nothing crashes. */
	desc[0] = (struct virtq_desc){ TX_BUF, 12, VIRTQ_DESC_F_NEXT, 1 };
	desc[1] = (struct virtq_desc){ TX_BUF + 64, 60, VIRTQ_DESC_F_NEXT, 0 };
	vdrv__make_available(&f->d, 1, 0);
	assert_true(vdrv__wait_status(&f->d, VIRTIO_STATUS_NEEDS_RESET, 3000));
	/* Reset, and the device sends again. */
	assert_int_equal(vdrv__init(&f->d, ~0ULL, 2, 64), 0);
	test_tx_reaches_host(state);
	/* A frame that claims 4 GiB. */
	desc[0] = (struct virtq_desc){ TX_BUF, 0xffffffffu, 0, 0 };
	vdrv__make_available(&f->d, 1, 0);
	assert_true(vdrv__wait_status(&f->d, VIRTIO_STATUS_NEEDS_RESET, 3000));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_tap_created, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tx_reaches_host, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rx_from_host, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rx_waits_for_buffers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_malformed_tx, setup, teardown),
	};
	int fd;

	kvm_required();
	/* Every tap and packet stays inside a network namespace of our own. */
	if (unshare(CLONE_NEWNET) < 0) {
		fprintf(stderr, "SKIP: cannot make a network namespace: %s (needs root or CAP_SYS_ADMIN)\n",
			strerror(errno));
		return TEST_EXIT_SKIP;
	}
	if (access("/dev/net/tun", R_OK | W_OK) < 0) {
		fprintf(stderr, "SKIP: no /dev/net/tun\n");
		return TEST_EXIT_SKIP;
	}
	fd = open("/proc/sys/net/ipv6/conf/default/disable_ipv6", O_WRONLY);
	if (fd >= 0) {
		if (write(fd, "1", 1) < 0)
			fprintf(stderr, "note: IPv6 stays on in the test namespace\n");
		close(fd);
	}
	log_threshold = LOG_ERROR;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
