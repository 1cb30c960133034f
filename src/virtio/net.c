/*
 * virtio-net on a tap device (--net tap=[NAME],mac=,ip=,mask=), one RX and
 * one TX queue, no offloads.  An empty tap= creates a tap the kernel names
 * and gives its host side ip/mask (Cloud Hypervisor's 192.168.249.1/24 when
 * not given); a named tap is attached to, or created with that name.
 * The tap is read on the device's worker when the driver has receive
 * buffers; frames it cannot take stay in the tap's queue.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include "device.h"
#include "log.h"
#include "virtio/virtio.h"
#include "virtio/virtqueue.h"
#include "vm.h"

#define VIRTIO_NET_F_MAC    5
#define VIRTIO_NET_F_STATUS 16
#define VIRTIO_NET_S_LINK_UP 1

#define NET_QUEUE_SIZE 256
#define NET_RX 0
#define NET_TX 1
#define NET_HDR_LEN 12              /* struct virtio_net_hdr_v1, num_buffers included */
#define NET_MAX_FRAME (65535 + 14 + 4)
#define NET_DEFAULT_IP   "192.168.249.1"
#define NET_DEFAULT_MASK "255.255.255.0"

struct virtio_net {
	int tap;
	bool vnet_hdr; /* the tap reads and writes a 12-byte virtio-net header */
	char ifname[IFNAMSIZ];
	uint64_t tx_dropped, rx_dropped;
	struct virtq_chain chain;
	struct iovec part[VIRTQ_MAX_SEGS];
	uint8_t frame[NET_HDR_LEN + NET_MAX_FRAME];
};

static void net__tx(struct virtio_dev *dev)
{
	struct virtio_net *n = dev->priv;
	struct virtq *vq = &dev->vq[NET_TX];
	bool used = false;
	int r;

	while ((r = virtq__pop(dev->vm, vq, &n->chain)) > 0) {
		struct virtq_chain *c = &n->chain;
		size_t skip = n->vnet_hdr ? 0 : NET_HDR_LEN;

		if (c->out_len < NET_HDR_LEN || c->out_len > NET_HDR_LEN + NET_MAX_FRAME) {
			n->tx_dropped++;
		} else {
			unsigned k = iov__slice(c->iov, c->nr_out, skip, c->out_len - skip, n->part,
						VIRTQ_MAX_SEGS);
			ssize_t w = writev(n->tap, n->part, (int)(k > IOV_MAX ? IOV_MAX : k));

			if (w < 0)
				n->tx_dropped++; /* a full tap queue drops, like a wire */
		}
		virtq__push(vq, c->head, 0);
		used = true;
	}
	if (r < 0)
		virtio__needs_reset(dev, "malformed descriptor chain");
	if (used)
		virtio__signal_queue(dev, NET_TX);
}

/* Moves frames from the tap into receive buffers while both last. */
static void net__rx(struct virtio_dev *dev)
{
	struct virtio_net *n = dev->priv;
	struct virtq *vq = &dev->vq[NET_RX];
	bool used = false;

	if (!virtio__queue_live(dev, NET_RX)) {
		dev->fd_wanted[0] = false; /* until the driver gives buffers */
		return;
	}
	for (;;) {
		uint16_t one = 1;
		ssize_t got;
		size_t len;
		int r = virtq__pop(dev->vm, vq, &n->chain);

		if (r < 0) {
			virtio__needs_reset(dev, "malformed descriptor chain");
			break;
		}
		if (r == 0) {
			dev->fd_wanted[0] = false;
			break;
		}
		if (n->vnet_hdr) {
			got = read(n->tap, n->frame, sizeof(n->frame));
		} else {
			memset(n->frame, 0, NET_HDR_LEN);
			got = read(n->tap, n->frame + NET_HDR_LEN, sizeof(n->frame) - NET_HDR_LEN);
			if (got >= 0)
				got += NET_HDR_LEN;
		}
		if (got < NET_HDR_LEN) {
			virtq__unpop(vq);
			if (got < 0 && errno != EAGAIN && errno != EINTR)
				log_warn("virtio-net: reading %s: %s", n->ifname, strerror(errno));
			break;
		}
		len = (size_t)got;
		memcpy(n->frame + 10, &one, 2); /* num_buffers: the tap leaves it as it was */
		if (len > n->chain.in_len) {
			virtq__unpop(vq); /* too big for this buffer: drop the frame, keep the buffer */
			n->rx_dropped++;
			continue;
		}
		iov__from_buf(n->chain.iov + n->chain.nr_out, n->chain.nr_in, 0, n->frame, len);
		virtq__push(vq, n->chain.head, (uint32_t)len);
		used = true;
	}
	if (used)
		virtio__signal_queue(dev, NET_RX);
}

static void net__notify(struct virtio_dev *dev, unsigned q)
{
	if (q == NET_TX)
		net__tx(dev);
	else
		dev->fd_wanted[0] = true; /* new receive buffers: read the tap again */
}

static void net__fd_ready(struct virtio_dev *dev, unsigned idx)
{
	(void)idx;
	net__rx(dev);
}

static void net__reset(struct virtio_dev *dev)
{
	dev->fd_wanted[0] = false;
}

static void net__free(struct virtio_dev *dev)
{
	struct virtio_net *n = dev->priv;

	if (!n)
		return;
	if (n->tap >= 0)
		close(n->tap);
	free(n);
}

static const struct virtio_ops net_ops = {
	.name = "virtio-net",
	.type = VIRTIO_ID_NET,
	.class_code = 0x020000,
	.nr_queues = 2,
	.queue_max = NET_QUEUE_SIZE,
	.features = (1ULL << VIRTIO_NET_F_MAC) | (1ULL << VIRTIO_NET_F_STATUS),
	.config_size = 10,
	.queue_notify = net__notify,
	.fd_ready = net__fd_ready,
	.reset = net__reset,
	.free = net__free,
};

static int net__open_tap(struct virtio_net *n, const char *name)
{
	struct ifreq ifr;
	int hdr = NET_HDR_LEN;

	n->tap = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (n->tap < 0) {
		log_error("--net: cannot open /dev/net/tun: %s", strerror(errno));
		return -errno;
	}
	memset(&ifr, 0, sizeof(ifr));
	strncpy(ifr.ifr_name, name, IFNAMSIZ - 1);
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
	n->vnet_hdr = true;
	if (ioctl(n->tap, TUNSETIFF, &ifr) < 0) {
		ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
		n->vnet_hdr = false;
		if (ioctl(n->tap, TUNSETIFF, &ifr) < 0) {
			int r = -errno;

			if (r == -EPERM && !name[0])
				log_error("--net: creating a tap device needs CAP_NET_ADMIN, which "
					  "vmscope does not have: create one for this user (ip tuntap "
					  "add dev tap0 mode tap user %u, as root) and give --net "
					  "tap=tap0", (unsigned)getuid());
			else if (r == -EPERM)
				log_error("--net: tap '%s' belongs to another user, or does not exist "
					  "and creating it needs CAP_NET_ADMIN: ip tuntap add dev %s "
					  "mode tap user %u (as root)", name, name, (unsigned)getuid());
			else
				log_error("--net: cannot %s tap '%s': %s",
					  name[0] ? "attach to" : "create", name, strerror(errno));
			return r;
		}
	}
	if (n->vnet_hdr && ioctl(n->tap, TUNSETVNETHDRSZ, &hdr) < 0)
		n->vnet_hdr = false;
	ioctl(n->tap, TUNSETOFFLOAD, 0);
	memcpy(n->ifname, ifr.ifr_name, IFNAMSIZ);
	n->ifname[IFNAMSIZ - 1] = '\0';
	return 0;
}

/* Gives the host side of the tap its address and brings it up. */
static int net__configure_host(struct virtio_net *n, const struct net_config *nc)
{
	struct ifreq ifr;
	uint32_t ip = nc->ip, mask = nc->mask;
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), r = 0;
	const char *step = "";

	if (s < 0)
		return -errno;
	if (!nc->tap[0] && !ip) {
		inet_pton(AF_INET, NET_DEFAULT_IP, &ip);
		if (!mask)
			inet_pton(AF_INET, NET_DEFAULT_MASK, &mask);
	}
	memset(&ifr, 0, sizeof(ifr));
	memcpy(ifr.ifr_name, n->ifname, IFNAMSIZ);
	if (ip) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ifr.ifr_addr;

		sin->sin_family = AF_INET;
		sin->sin_addr.s_addr = ip;
		step = "set its address";
		if (ioctl(s, SIOCSIFADDR, &ifr) < 0)
			goto fail;
		if (mask) {
			sin->sin_addr.s_addr = mask;
			step = "set its netmask";
			if (ioctl(s, SIOCSIFNETMASK, &ifr) < 0)
				goto fail;
		}
	}
	step = "bring it up";
	if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0)
		goto fail;
	/* A tap that is up already (set up by its owner) needs nothing from us. */
	if (!(ifr.ifr_flags & IFF_UP)) {
		ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
		if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0)
			goto fail;
	}
	close(s);
	return 0;
fail:
	r = -errno;
	if (r == -EPERM)
		log_error("--net: %s: vmscope may not %s without CAP_NET_ADMIN: "
			  "%s (as root), and leave ip= and mask= out", n->ifname, step,
			  ip ? "give the tap its address yourself (ip addr add IP/MASK dev TAP)"
			     : "bring the tap up yourself (ip link set TAP up)");
	else
		log_error("--net: %s: cannot %s: %s", n->ifname, step, strerror(errno));
	close(s);
	return r;
}

static int net__add(struct vm *vm, const struct net_config *nc)
{
	struct virtio_net *n = calloc(1, sizeof(*n));
	struct virtio_dev *dev;
	uint8_t mac[6];
	uint16_t status = VIRTIO_NET_S_LINK_UP, pairs = 1;
	int r;

	if (!n)
		return -ENOMEM;
	r = net__open_tap(n, nc->tap);
	if (r == 0)
		r = net__configure_host(n, nc);
	if (r < 0) {
		vm__config_error(vm);
		if (n->tap >= 0)
			close(n->tap);
		free(n);
		return r;
	}
	if (nc->have_mac) {
		memcpy(mac, nc->mac, 6);
	} else {
		if (getrandom(mac, sizeof(mac), 0) != sizeof(mac))
			memcpy(mac, (uint8_t[]){ 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 }, 6);
		mac[0] = (uint8_t)((mac[0] & 0xfe) | 0x02); /* unicast, locally administered */
	}
	log_info("virtio-net: %s, guest MAC %02x:%02x:%02x:%02x:%02x:%02x", n->ifname, mac[0],
		 mac[1], mac[2], mac[3], mac[4], mac[5]);
	dev = virtio__create(vm, &net_ops, n);
	if (!dev)
		return -EIO;
	memcpy(dev->config, mac, 6);
	memcpy(dev->config + 6, &status, 2);
	memcpy(dev->config + 8, &pairs, 2);
	dev->fds[0] = n->tap;
	dev->nr_fds = 1;
	dev->fd_wanted[0] = false;
	return virtio__start(dev);
}

static int net__init(struct vm *vm)
{
	for (unsigned i = 0; i < vm->cfg->nr_nets && i < CONFIG_MAX_NETS; i++) {
		int r = net__add(vm, &vm->cfg->nets[i]);

		if (r < 0)
			return r;
	}
	return 0;
}

static void net__exit(struct vm *vm)
{
	virtio__free_type(vm, VIRTIO_ID_NET);
}

DEVICE_INIT(DEVICE_LEVEL_VIRTIO, virtio_net, net__init, net__exit);
