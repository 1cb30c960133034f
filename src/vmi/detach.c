/* Detaching the client: every hook it set is undone, its vCPUs resumed. */
#include <sys/socket.h>

#include "log.h"
#include "vcpu.h"
#include "vm.h"
#include "vmi/core.h"

void vmi__detach(struct vmi_core *core, const char *why, bool asked)
{
	struct vm *vm = core->vm;
	unsigned nbps = 0, nhw, nprot;
	uint64_t gpas[VMI_MAX_BPS];

	pthread_mutex_lock(&core->lock);
	if (!atomic_load(&core->attached)) {
		pthread_mutex_unlock(&core->lock);
		return;
	}
	atomic_store(&core->attached, false);
	atomic_store(&core->sub_mask, 0);
	atomic_store(&core->sync_mask, 0);
	atomic_fetch_add(&core->gen, 1);
	/* The client's breakpoints only: an in-process consumer keeps its own. */
	for (unsigned i = 0; i < core->nr_bps; i++)
		if (core->bps[i].owners & VMI_OWNER_CLIENT)
			gpas[nbps++] = core->bps[i].gpa;
	for (unsigned i = 0; i < nbps; i++)
		vmi__bp_remove_locked(core, VMI_OWNER_CLIENT, gpas[i]);
	nhw = vmi__hwbp_release_locked(core, VMI_OWNER_CLIENT);
	core->nr_msrs = 0;
	vmi__update_msr_filter(core);
	nprot = core->nr_prot;
	if (nprot) {
		core->nr_prot = 0;
		if (vmi__quiesce(core) == 0) {
			vmi__rebuild_slots(core);
			vmi__unquiesce(core);
		} else {
			/* Writes still reach RAM through the MMIO fallback. */
			log_error("vmi: could not stop the vCPUs to unprotect pages");
		}
	}
	for (unsigned i = 0; i < vm->nr_vcpus; i++) {
		struct vcpu *v = vm->vcpus[i];

		v->vmi->client_ss = false;
		atomic_store(&v->vmi->dbg_dirty, true);
		atomic_store(&v->vmi->pause_req, false);
	}
	vmi__update_watch(core);
	pthread_cond_broadcast(&core->cond);
	if (core->sock.client_fd >= 0)
		shutdown(core->sock.client_fd, SHUT_RDWR); /* the control thread closes it */
	pthread_mutex_unlock(&core->lock);
	for (unsigned i = 0; i < vm->nr_vcpus; i++)
		vmi__wake(vm->vcpus[i]);
	/* Every vmscope-ctl run ends in a detach it asks for: only a lost client warns. */
	log_msg(asked ? LOG_INFO : LOG_WARN,
		"vmi: client detached (%s): hooks removed, %u breakpoint(s) restored, "
		"%u debug-register slot(s) freed, %u page(s) unprotected, vCPUs resumed",
		why, nbps, nhw, nprot);
}

void vmi__detach_lost(struct vmi_core *core, const char *why)
{
	vmi__detach(core, why, false);
}
