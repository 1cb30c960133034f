#include "vmi/msg.h"

#include <errno.h>
#include <string.h>

long vmi_msg__payload_size(uint32_t type)
{
	switch (type) {
	case VMSCOPE_MSG_ATTACH:
		return sizeof(struct vmscope_msg_attach);
	case VMSCOPE_MSG_DETACH:
		return 0;
	case VMSCOPE_MSG_SUBSCRIBE:
	case VMSCOPE_MSG_UNSUBSCRIBE:
		return sizeof(struct vmscope_msg_subscribe);
	case VMSCOPE_MSG_PAUSE:
	case VMSCOPE_MSG_RESUME:
	case VMSCOPE_MSG_GET_REGS:
	case VMSCOPE_MSG_SINGLESTEP:
		return sizeof(struct vmscope_msg_vcpu);
	case VMSCOPE_MSG_SET_REGS:
		return sizeof(struct vmscope_msg_regs);
	case VMSCOPE_MSG_GET_MSR:
	case VMSCOPE_MSG_SET_MSR:
		return sizeof(struct vmscope_msg_msr);
	case VMSCOPE_MSG_SET_BP:
	case VMSCOPE_MSG_CLEAR_BP:
	case VMSCOPE_MSG_PROTECT:
	case VMSCOPE_MSG_UNPROTECT:
		return sizeof(struct vmscope_msg_gpa);
	case VMSCOPE_MSG_INJECT:
		return sizeof(struct vmscope_msg_inject);
	case VMSCOPE_MSG_MSR_WATCH:
		return sizeof(struct vmscope_msg_msr_watch);
	case VMSCOPE_MSG_SET_HWBP:
	case VMSCOPE_MSG_CLEAR_HWBP:
		return sizeof(struct vmscope_msg_hwbp);
	}
	return -1;
}

static int bad(const char **why, const char *reason, int err)
{
	*why = reason;
	return err;
}

static int check_vcpu(uint32_t vcpu, bool all_ok, const struct vmi_msg_limits *lim,
		      const char **why)
{
	if (vcpu == VMSCOPE_ALL_VCPUS && all_ok)
		return 0;
	if (vcpu >= lim->nr_vcpus)
		return bad(why, "no such vCPU", -ERANGE);
	return 0;
}

int vmi_msg__check_hwbp(uint64_t addr, unsigned type, unsigned len, const char **why)
{
	/* Canonical under 5-level paging at least; 4-level is stricter, the CPU decides. */
	int64_t top = (int64_t)addr >> 56;

	if (type != VMSCOPE_HWBP_EXEC && type != VMSCOPE_HWBP_WRITE && type != VMSCOPE_HWBP_RW)
		return bad(why, "type must be exec (0), write (1) or read/write (3)", -EINVAL);
	if (len != 1 && len != 2 && len != 4 && len != 8)
		return bad(why, "length must be 1, 2, 4 or 8", -EINVAL);
	if (type == VMSCOPE_HWBP_EXEC && len != 1)
		return bad(why, "an execute breakpoint has length 1", -EINVAL);
	if (addr & (len - 1))
		return bad(why, "address not aligned to the watched length", -EINVAL);
	if (top != 0 && top != -1)
		return bad(why, "address is not canonical", -EINVAL);
	return 0;
}

int vmi_msg__parse(const void *buf, size_t len, const struct vmi_msg_limits *lim,
		   struct vmi_msg *out, const char **why)
{
	long payload;

	memset(out, 0, sizeof(*out));
	*why = "";
	if (len < sizeof(out->hdr))
		return bad(why, "message shorter than its header", -EPROTO);
	memcpy(&out->hdr, buf, sizeof(out->hdr));
	if (out->hdr.len != len)
		return bad(why, "length field does not match the message", -EPROTO);
	payload = vmi_msg__payload_size(out->hdr.type);
	if (payload < 0)
		return bad(why, "unknown message type", -EINVAL);
	if (len != sizeof(out->hdr) + (size_t)payload)
		return bad(why, "wrong length for this message type", -EPROTO);
	memcpy(&out->u, (const uint8_t *)buf + sizeof(out->hdr), (size_t)payload);

	switch (out->hdr.type) {
	case VMSCOPE_MSG_ATTACH:
		if (out->u.attach.abi_version != VMSCOPE_ABI_VERSION)
			return bad(why, "ABI version mismatch", -EPROTO);
		if (out->u.attach._pad)
			return bad(why, "reserved field not zero", -EINVAL);
		return 0;
	case VMSCOPE_MSG_DETACH:
		return 0;
	case VMSCOPE_MSG_SUBSCRIBE:
	case VMSCOPE_MSG_UNSUBSCRIBE:
		if (out->u.subscribe.kind >= VMSCOPE_EV_NR)
			return bad(why, "unknown event kind", -EINVAL);
		if (out->u.subscribe.sync > 1)
			return bad(why, "sync must be 0 or 1", -EINVAL);
		return 0;
	case VMSCOPE_MSG_PAUSE:
	case VMSCOPE_MSG_RESUME:
		if (out->u.vcpu.enable)
			return bad(why, "reserved field not zero", -EINVAL);
		return check_vcpu(out->u.vcpu.vcpu, true, lim, why);
	case VMSCOPE_MSG_GET_REGS:
		if (out->u.vcpu.enable)
			return bad(why, "reserved field not zero", -EINVAL);
		return check_vcpu(out->u.vcpu.vcpu, false, lim, why);
	case VMSCOPE_MSG_SINGLESTEP:
		if (out->u.vcpu.enable > 1)
			return bad(why, "enable must be 0 or 1", -EINVAL);
		return check_vcpu(out->u.vcpu.vcpu, false, lim, why);
	case VMSCOPE_MSG_SET_REGS:
		if (out->u.regs._pad)
			return bad(why, "reserved field not zero", -EINVAL);
		return check_vcpu(out->u.regs.vcpu, false, lim, why);
	case VMSCOPE_MSG_GET_MSR:
	case VMSCOPE_MSG_SET_MSR:
		return check_vcpu(out->u.msr.vcpu, false, lim, why);
	case VMSCOPE_MSG_SET_BP:
	case VMSCOPE_MSG_CLEAR_BP:
		if (memmap__offset(lim->map, out->u.gpa.gpa, 1) < 0)
			return bad(why, "address is not guest RAM", -EFAULT);
		return 0;
	case VMSCOPE_MSG_PROTECT:
	case VMSCOPE_MSG_UNPROTECT:
		if (out->u.gpa.gpa & 4095)
			return bad(why, "address is not page-aligned", -EINVAL);
		if (memmap__offset(lim->map, out->u.gpa.gpa, 4096) < 0)
			return bad(why, "page is not guest RAM", -EFAULT);
		return 0;
	case VMSCOPE_MSG_INJECT:
		if (out->u.inject.vector > 31 || out->u.inject.vector == 2)
			return bad(why, "vector must be an exception (0-31, not NMI)", -EINVAL);
		if (out->u.inject.has_error > 1 || out->u.inject._pad || out->u.inject._pad2)
			return bad(why, "reserved field not zero", -EINVAL);
		return check_vcpu(out->u.inject.vcpu, false, lim, why);
	case VMSCOPE_MSG_SET_HWBP:
	case VMSCOPE_MSG_CLEAR_HWBP:
		if (out->u.hwbp._pad || out->u.hwbp.slot)
			return bad(why, "reserved field not zero", -EINVAL);
		return vmi_msg__check_hwbp(out->u.hwbp.addr, out->u.hwbp.type, out->u.hwbp.len, why);
	case VMSCOPE_MSG_MSR_WATCH:
		if (out->u.msr_watch.nr > VMSCOPE_MAX_WATCHED_MSRS)
			return bad(why, "too many MSRs", -ERANGE);
		if (out->u.msr_watch._pad)
			return bad(why, "reserved field not zero", -EINVAL);
		return 0;
	}
	return bad(why, "unknown message type", -EINVAL);
}
