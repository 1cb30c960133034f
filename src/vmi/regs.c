/*
 * Registers of a vCPU out of KVM_RUN: KVM's structs to the ABI's
 * vmscope_regs and back, the FPU, single MSRs.
 */
#include <errno.h>
#include <string.h>

#include "kvm_ioctl.h"
#include "vcpu.h"
#include "vmi/core.h"

static void seg_from_kvm(struct vmscope_segment *o, const struct kvm_segment *s)
{
	o->base = s->base;
	o->limit = s->limit;
	o->selector = s->selector;
	o->type = s->type;
	o->flags = (uint8_t)((s->present & 1) | (s->s & 1) << 1 | (s->l & 1) << 2 |
			     (s->db & 1) << 3 | (s->g & 1) << 4 | (s->unusable & 1) << 5 |
			     (s->dpl & 3) << 6);
}

static void seg_to_kvm(struct kvm_segment *s, const struct vmscope_segment *o)
{
	s->base = o->base;
	s->limit = o->limit;
	s->selector = o->selector;
	s->type = o->type & 15;
	s->present = o->flags & 1;
	s->s = (o->flags >> 1) & 1;
	s->l = (o->flags >> 2) & 1;
	s->db = (o->flags >> 3) & 1;
	s->g = (o->flags >> 4) & 1;
	s->unusable = (o->flags >> 5) & 1;
	s->dpl = (o->flags >> 6) & 3;
}

static void regs_from_kvm(struct vmscope_regs *o, const struct kvm_regs *r)
{
	o->rax = r->rax; o->rbx = r->rbx; o->rcx = r->rcx; o->rdx = r->rdx;
	o->rsi = r->rsi; o->rdi = r->rdi; o->rsp = r->rsp; o->rbp = r->rbp;
	o->r8 = r->r8; o->r9 = r->r9; o->r10 = r->r10; o->r11 = r->r11;
	o->r12 = r->r12; o->r13 = r->r13; o->r14 = r->r14; o->r15 = r->r15;
	o->rip = r->rip; o->rflags = r->rflags;
}

static void regs_to_kvm(struct kvm_regs *r, const struct vmscope_regs *o)
{
	r->rax = o->rax; r->rbx = o->rbx; r->rcx = o->rcx; r->rdx = o->rdx;
	r->rsi = o->rsi; r->rdi = o->rdi; r->rsp = o->rsp; r->rbp = o->rbp;
	r->r8 = o->r8; r->r9 = o->r9; r->r10 = o->r10; r->r11 = o->r11;
	r->r12 = o->r12; r->r13 = o->r13; r->r14 = o->r14; r->r15 = o->r15;
	r->rip = o->rip; r->rflags = o->rflags | 2;
}

static void sregs_from_kvm(struct vmscope_regs *o, const struct kvm_sregs *s)
{
	o->cr0 = s->cr0; o->cr2 = s->cr2; o->cr3 = s->cr3; o->cr4 = s->cr4;
	o->cr8 = s->cr8; o->efer = s->efer;
	seg_from_kvm(&o->cs, &s->cs); seg_from_kvm(&o->ds, &s->ds);
	seg_from_kvm(&o->es, &s->es); seg_from_kvm(&o->fs, &s->fs);
	seg_from_kvm(&o->gs, &s->gs); seg_from_kvm(&o->ss, &s->ss);
	seg_from_kvm(&o->tr, &s->tr); seg_from_kvm(&o->ldt, &s->ldt);
	o->gdt_base = s->gdt.base; o->gdt_limit = s->gdt.limit;
	o->idt_base = s->idt.base; o->idt_limit = s->idt.limit;
}

#define MSR_KERNEL_GS_BASE 0xc0000102

int vmi__msr_access(struct vcpu *vcpu, uint32_t index, uint64_t *value, bool write)
{
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry e;
	} m = { .hdr.nmsrs = 1, .e.index = index, .e.data = write ? *value : 0 };
	int r = write ? vcpu_ioctl(vcpu, KVM_SET_MSRS, &m) : vcpu_ioctl(vcpu, KVM_GET_MSRS, &m);

	if (r < 0)
		return -errno;
	if (r != 1)
		return -EINVAL;
	if (!write)
		*value = m.e.data;
	return 0;
}

int vmi__get_regs(struct vcpu *vcpu, struct vmscope_regs *out, bool with_msrs)
{
	struct kvm_regs r;
	struct kvm_sregs s;

	memset(out, 0, sizeof(*out));
	if (!with_msrs && (vcpu->run->kvm_valid_regs & (KVM_SYNC_X86_REGS | KVM_SYNC_X86_SREGS)) ==
				  (KVM_SYNC_X86_REGS | KVM_SYNC_X86_SREGS)) {
		/* KVM_CAP_SYNC_REGS: KVM copied them into the run page at the exit. */
		regs_from_kvm(out, &vcpu->run->s.regs.regs);
		sregs_from_kvm(out, &vcpu->run->s.regs.sregs);
		return 0;
	}
	if (vcpu_ioctl(vcpu, KVM_GET_REGS, &r) < 0 || vcpu_ioctl(vcpu, KVM_GET_SREGS, &s) < 0)
		return -errno;
	regs_from_kvm(out, &r);
	sregs_from_kvm(out, &s);
	if (with_msrs)
		vmi__msr_access(vcpu, MSR_KERNEL_GS_BASE, &out->kernel_gs_base, false);
	return 0;
}

int vmi__set_regs(struct vcpu *vcpu, const struct vmscope_regs *in, bool special)
{
	struct kvm_regs r;
	struct kvm_sregs s;

	regs_to_kvm(&r, in);
	if (vcpu_ioctl(vcpu, KVM_SET_REGS, &r) < 0)
		return -errno;
	if (!special)
		return 0;
	if (vcpu_ioctl(vcpu, KVM_GET_SREGS, &s) < 0)
		return -errno;
	s.cr0 = in->cr0; s.cr2 = in->cr2; s.cr3 = in->cr3; s.cr4 = in->cr4;
	s.cr8 = in->cr8; s.efer = in->efer;
	seg_to_kvm(&s.cs, &in->cs); seg_to_kvm(&s.ds, &in->ds);
	seg_to_kvm(&s.es, &in->es); seg_to_kvm(&s.fs, &in->fs);
	seg_to_kvm(&s.gs, &in->gs); seg_to_kvm(&s.ss, &in->ss);
	seg_to_kvm(&s.tr, &in->tr); seg_to_kvm(&s.ldt, &in->ldt);
	s.gdt.base = in->gdt_base; s.gdt.limit = in->gdt_limit;
	s.idt.base = in->idt_base; s.idt.limit = in->idt_limit;
	if (vcpu_ioctl(vcpu, KVM_SET_SREGS, &s) < 0)
		return -errno;
	uint64_t kgs = in->kernel_gs_base;
	return vmi__msr_access(vcpu, MSR_KERNEL_GS_BASE, &kgs, true);
}

int vmi__get_fpu(struct vcpu *vcpu, struct kvm_fpu *out)
{
	return vcpu_ioctl(vcpu, KVM_GET_FPU, out) < 0 ? -errno : 0;
}

int vmi__set_fpu(struct vcpu *vcpu, const struct kvm_fpu *in)
{
	return vcpu_ioctl(vcpu, KVM_SET_FPU, in) < 0 ? -errno : 0;
}
