/*
 * Every virtio device of every VM in the process: numbering per type,
 * lookup (virtio__find) and teardown when the VM is destroyed.
 */
#include "virtio/virtio_internal.h"

#include <errno.h>
#include <pthread.h>

#include "vm.h"

#define VIRTIO_MAX_DEVICES 64
static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static struct virtio_dev *registry[VIRTIO_MAX_DEVICES];

/* Frees every virtio device of the VM, newest first (one vm__on_destroy for all). */
static void virtio__free_all(void *opaque)
{
	struct vm *vm = opaque;

	for (unsigned i = VIRTIO_MAX_DEVICES; i-- > 0;) {
		struct virtio_dev *dev = NULL;

		pthread_mutex_lock(&registry_lock);
		if (registry[i] && registry[i]->vm == vm) {
			dev = registry[i];
			registry[i] = NULL;
		}
		pthread_mutex_unlock(&registry_lock);
		if (dev)
			virtio__free(dev);
	}
}

struct virtio_dev *virtio__find(struct vm *vm, uint16_t type, unsigned index)
{
	struct virtio_dev *found = NULL;

	pthread_mutex_lock(&registry_lock);
	for (unsigned i = 0; i < VIRTIO_MAX_DEVICES && !found; i++)
		if (registry[i] && registry[i]->vm == vm && registry[i]->ops->type == type &&
		    registry[i]->index == index)
			found = registry[i];
	pthread_mutex_unlock(&registry_lock);
	return found;
}

/* The VM's first device also arranges the teardown. */
int virtio__register(struct virtio_dev *dev)
{
	bool first = true;
	unsigned slot = VIRTIO_MAX_DEVICES;

	pthread_mutex_lock(&registry_lock);
	for (unsigned i = 0; i < VIRTIO_MAX_DEVICES; i++) {
		if (!registry[i]) {
			if (slot == VIRTIO_MAX_DEVICES)
				slot = i;
			continue;
		}
		if (registry[i]->vm == dev->vm) {
			first = false;
			if (registry[i]->ops->type == dev->ops->type)
				dev->index++;
		}
	}
	if (slot < VIRTIO_MAX_DEVICES)
		registry[slot] = dev;
	pthread_mutex_unlock(&registry_lock);
	if (slot == VIRTIO_MAX_DEVICES)
		return -ENOSPC;
	if (first) {
		int r = vm__on_destroy(dev->vm, virtio__free_all, dev->vm);

		if (r < 0) {
			pthread_mutex_lock(&registry_lock);
			registry[slot] = NULL;
			pthread_mutex_unlock(&registry_lock);
			return r;
		}
	}
	return 0;
}
