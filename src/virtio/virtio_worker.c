/*
 * The per-device worker thread: it waits on the queue eventfds, the device's
 * own fds and stop_efd, and runs the device's handlers with dev->lock held,
 * so that I/O that blocks never runs on a vCPU thread.
 */
#include "virtio/virtio_internal.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>

#include "exit_status.h"
#include "log.h"
#include "seccomp_filter.h"
#include "vm.h"

void virtio__kick_worker(struct virtio_dev *dev)
{
	uint64_t one = 1;

	if (write(dev->stop_efd, &one, sizeof(one)) < 0)
		log_warn("%s: cannot wake its worker: %s", dev->ops->name, strerror(errno));
}

static void *virtio__worker(void *arg)
{
	struct virtio_dev *dev = arg;
	unsigned nq = dev->ops->nr_queues;

	if (seccomp_filter__apply(SECCOMP_THREAD_VIRTIO, dev->vm->cfg->seccomp) < 0) {
		vm__stop(dev->vm, VM_STOP_ERROR, EXIT_ERROR);
		return NULL;
	}
	for (;;) {
		struct pollfd pfd[1 + VIRTIO_MAX_QUEUES + VIRTIO_MAX_FDS];
		unsigned n = 0;
		uint64_t cnt;

		pfd[n++] = (struct pollfd){ .fd = dev->stop_efd, .events = POLLIN };
		for (unsigned q = 0; q < nq; q++)
			pfd[n++] = (struct pollfd){ .fd = dev->vq[q].efd, .events = POLLIN };
		pthread_mutex_lock(&dev->lock);
		for (unsigned i = 0; i < dev->nr_fds; i++)
			pfd[n++] = (struct pollfd){ .fd = dev->fd_wanted[i] ? dev->fds[i] : -1,
						    .events = POLLIN };
		pthread_mutex_unlock(&dev->lock);

		if (poll(pfd, n, -1) < 0) {
			if (errno == EINTR)
				continue;
			log_error("%s: worker poll: %s", dev->ops->name, strerror(errno));
			return NULL;
		}
		if (pfd[0].revents & POLLIN) {
			if (read(dev->stop_efd, &cnt, sizeof(cnt)) < 0)
				cnt = 0;
			if (atomic_load(&dev->stopping))
				return NULL;
			pthread_mutex_lock(&dev->lock);
			virtio__msix_flush_pending(dev);
			pthread_mutex_unlock(&dev->lock);
		}
		for (unsigned q = 0; q < nq; q++) {
			if (!(pfd[1 + q].revents & POLLIN))
				continue;
			if (read(dev->vq[q].efd, &cnt, sizeof(cnt)) < 0)
				continue;
			pthread_mutex_lock(&dev->lock);
			if (virtio__queue_live(dev, q))
				dev->ops->queue_notify(dev, q);
			pthread_mutex_unlock(&dev->lock);
		}
		for (unsigned i = 0; i < dev->nr_fds; i++) {
			if (!(pfd[1 + nq + i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			pthread_mutex_lock(&dev->lock);
			dev->ops->fd_ready(dev, i);
			pthread_mutex_unlock(&dev->lock);
		}
	}
}

/* Called by the device type once priv, config and fds are in place. */
int virtio__start(struct virtio_dev *dev)
{
	int r = pthread_create(&dev->worker, NULL, virtio__worker, dev);

	if (r != 0) {
		log_error("%s: cannot start its worker: %s", dev->ops->name, strerror(r));
		return -r;
	}
	dev->worker_started = true;
	return 0;
}

void virtio__stop(struct virtio_dev *dev)
{
	if (!dev->worker_started)
		return;
	atomic_store(&dev->stopping, true);
	virtio__kick_worker(dev);
	pthread_join(dev->worker, NULL);
}
