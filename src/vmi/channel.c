/*
 * The event channel: one memfd the client maps, with a header and, per vCPU,
 * an event ring and a response ring.
 */
#include <errno.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include "util.h"
#include "vcpu.h"
#include "vm.h"
#include "vmi/core.h"

#define EV_SLOTS 256
#define RSP_SLOTS 16

int vmi__channel_create(struct vmi_core *core, unsigned nr_vcpus)
{
	size_t ev_area = ALIGN_UP(sizeof(struct vmscope_ring) + EV_SLOTS * sizeof(struct vmscope_event), 4096);
	size_t rsp_area = ALIGN_UP(sizeof(struct vmscope_ring) + RSP_SLOTS * sizeof(struct vmscope_response), 4096);
	size_t stride = ev_area + rsp_area;
	size_t hdr_size = ALIGN_UP(sizeof(struct vmscope_chan_header), 4096);

	core->chan_size = hdr_size + stride * nr_vcpus;
	core->chan_fd = memfd_create("vmscope-vmi-channel", MFD_CLOEXEC);
	if (core->chan_fd < 0 || ftruncate(core->chan_fd, (off_t)core->chan_size) < 0)
		return -errno;
	core->hdr = mmap(NULL, core->chan_size, PROT_READ | PROT_WRITE, MAP_SHARED, core->chan_fd, 0);
	if (core->hdr == MAP_FAILED) {
		core->hdr = NULL;
		return -errno;
	}
	core->hdr->magic = VMSCOPE_CHAN_MAGIC;
	core->hdr->version = VMSCOPE_ABI_VERSION;
	core->hdr->nr_vcpus = nr_vcpus;
	core->hdr->ev_slots = EV_SLOTS;
	core->hdr->rsp_slots = RSP_SLOTS;
	core->hdr->ev_size = sizeof(struct vmscope_event);
	core->hdr->rsp_size = sizeof(struct vmscope_response);
	core->hdr->vcpu_offset = hdr_size;
	core->hdr->vcpu_stride = stride;
	core->hdr->rsp_offset = ev_area;
	core->hdr->total_size = core->chan_size;
	return 0;
}

void vmi__channel_reset(struct vmi_core *core)
{
	for (unsigned i = 0; i < core->vm->nr_vcpus; i++) {
		struct vcpu *v = core->vm->vcpus[i];

		/* Drop what the previous client left: consumer catches up with producer. */
		__atomic_store_n(&v->vmi->ev->tail, __atomic_load_n(&v->vmi->ev->head, __ATOMIC_ACQUIRE),
				 __ATOMIC_RELEASE);
		__atomic_store_n(&v->vmi->rsp->head, v->vmi->rsp->tail, __ATOMIC_RELEASE);
		v->vmi->ev->waiting = v->vmi->rsp->waiting = 0;
	}
	core->hdr->client_waiting = 0;
}

/* Per vCPU, before its thread starts (a vCPU hook): its state, its rings. */
int vmi__vcpu_init(struct vcpu *vcpu)
{
	struct vmi_core *core = vcpu->vm->vmi;
	uint8_t *area;

	vcpu->vmi = calloc(1, sizeof(*vcpu->vmi));
	if (!vcpu->vmi)
		return -ENOMEM;
	vcpu->vmi->rsp_efd = -1;
	if (!core->hdr)
		return 0;
	area = (uint8_t *)core->hdr + core->hdr->vcpu_offset + core->hdr->vcpu_stride * vcpu->id;
	vcpu->exit_stats = core->hdr->exits[vcpu->id];
	vcpu->vmi->ev = (struct vmscope_ring *)area;
	vcpu->vmi->ev_slots = (struct vmscope_event *)(area + sizeof(struct vmscope_ring));
	vcpu->vmi->rsp = (struct vmscope_ring *)(area + core->hdr->rsp_offset);
	vcpu->vmi->rsp_slots =
		(struct vmscope_response *)(area + core->hdr->rsp_offset + sizeof(struct vmscope_ring));
	vcpu->vmi->rsp_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (vcpu->vmi->rsp_efd < 0)
		return -errno;
	if (vcpu->vm->cfg->vmi_wait) {
		atomic_store(&vcpu->vmi->pause_gen, 1);
		atomic_store(&vcpu->vmi->pause_req, true);
	}
	return 0;
}

void vmi__vcpu_free(struct vcpu *vcpu)
{
	free(vcpu->vmi);
	vcpu->vmi = NULL;
}
