/* The control-message parser: every request checked against its row of VMI_MESSAGES. */
#include "vmi/msg.h"

#include <errno.h>
#include <string.h>

static int bad(const char **why, const char *reason, int err)
{
	*why = reason;
	return err;
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

/* The checks of each message's fields but its vCPU (VMI_MESSAGES, msg.h). */
typedef int msg_check_fn(const struct vmi_msg *m, const struct vmi_msg_limits *lim,
			 const char **why);

static int check_attach(const struct vmi_msg *m, const struct vmi_msg_limits *lim,
			const char **why)
{
	(void)lim;
	if (m->u.attach.abi_version != VMSCOPE_ABI_VERSION)
		return bad(why, "ABI version mismatch", -EPROTO);
	if (m->u.attach._pad)
		return bad(why, "reserved field not zero", -EINVAL);
	return 0;
}

static int check_subscribe(const struct vmi_msg *m, const struct vmi_msg_limits *lim,
			   const char **why)
{
	(void)lim;
	if (m->u.subscribe.kind >= VMSCOPE_EV_NR)
		return bad(why, "unknown event kind", -EINVAL);
	if (m->u.subscribe.sync > 1)
		return bad(why, "sync must be 0 or 1", -EINVAL);
	return 0;
}

static int check_no_enable(const struct vmi_msg *m, const struct vmi_msg_limits *lim,
			   const char **why)
{
	(void)lim;
	return m->u.vcpu.enable ? bad(why, "reserved field not zero", -EINVAL) : 0;
}

static int check_enable(const struct vmi_msg *m, const struct vmi_msg_limits *lim,
			const char **why)
{
	(void)lim;
	return m->u.vcpu.enable > 1 ? bad(why, "enable must be 0 or 1", -EINVAL) : 0;
}

static int check_set_regs(const struct vmi_msg *m, const struct vmi_msg_limits *lim,
			  const char **why)
{
	(void)lim;
	return m->u.regs._pad ? bad(why, "reserved field not zero", -EINVAL) : 0;
}

static int check_bp(const struct vmi_msg *m, const struct vmi_msg_limits *lim, const char **why)
{
	if (memmap__offset(lim->map, m->u.gpa.gpa, 1) < 0)
		return bad(why, "address is not guest RAM", -EFAULT);
	return 0;
}

static int check_page(const struct vmi_msg *m, const struct vmi_msg_limits *lim,
		      const char **why)
{
	if (m->u.gpa.gpa & 4095)
		return bad(why, "address is not page-aligned", -EINVAL);
	if (memmap__offset(lim->map, m->u.gpa.gpa, 4096) < 0)
		return bad(why, "page is not guest RAM", -EFAULT);
	return 0;
}

static int check_inject(const struct vmi_msg *m, const struct vmi_msg_limits *lim,
			const char **why)
{
	(void)lim;
	if (m->u.inject.vector > 31 || m->u.inject.vector == 2)
		return bad(why, "vector must be an exception (0-31, not NMI)", -EINVAL);
	if (m->u.inject.has_error > 1 || m->u.inject._pad || m->u.inject._pad2)
		return bad(why, "reserved field not zero", -EINVAL);
	return 0;
}

static int check_hwbp(const struct vmi_msg *m, const struct vmi_msg_limits *lim,
		      const char **why)
{
	(void)lim;
	if (m->u.hwbp._pad || m->u.hwbp.slot)
		return bad(why, "reserved field not zero", -EINVAL);
	return vmi_msg__check_hwbp(m->u.hwbp.addr, m->u.hwbp.type, m->u.hwbp.len, why);
}

static int check_msr_watch(const struct vmi_msg *m, const struct vmi_msg_limits *lim,
			   const char **why)
{
	(void)lim;
	if (m->u.msr_watch.nr > VMSCOPE_MAX_WATCHED_MSRS)
		return bad(why, "too many MSRs", -ERANGE);
	if (m->u.msr_watch._pad)
		return bad(why, "reserved field not zero", -EINVAL);
	return 0;
}

/* The parser's columns of VMI_MESSAGES. */
struct msg_rule {
	uint32_t type;
	uint32_t size;
	int vcpu_at;
	bool all_ok;
	msg_check_fn *check;
};

#define MSG_RULE(t, size_, vcpu, all, stopped, check_, handler)                       \
	{ .type = VMSCOPE_MSG_##t, .size = (size_), .vcpu_at = (vcpu), .all_ok = (all), \
	  .check = (check_) },
static const struct msg_rule rules[] = { VMI_MESSAGES(MSG_RULE) };

static const struct msg_rule *rule_of(uint32_t type)
{
	for (size_t i = 0; i < sizeof(rules) / sizeof(rules[0]); i++)
		if (rules[i].type == type)
			return &rules[i];
	return NULL;
}

long vmi_msg__payload_size(uint32_t type)
{
	const struct msg_rule *rule = rule_of(type);

	return rule ? (long)rule->size : -1;
}

int vmi_msg__parse(const void *buf, size_t len, const struct vmi_msg_limits *lim,
		   struct vmi_msg *out, const char **why)
{
	const struct msg_rule *rule;
	uint32_t vcpu;
	int r;

	memset(out, 0, sizeof(*out));
	*why = "";
	if (len < sizeof(out->hdr))
		return bad(why, "message shorter than its header", -EPROTO);
	memcpy(&out->hdr, buf, sizeof(out->hdr));
	if (out->hdr.len != len)
		return bad(why, "length field does not match the message", -EPROTO);
	rule = rule_of(out->hdr.type);
	if (!rule)
		return bad(why, "unknown message type", -EINVAL);
	if (len != sizeof(out->hdr) + rule->size)
		return bad(why, "wrong length for this message type", -EPROTO);
	memcpy(&out->u, (const uint8_t *)buf + sizeof(out->hdr), rule->size);
	if (rule->check && (r = rule->check(out, lim, why)) < 0)
		return r;
	if (rule->vcpu_at < 0)
		return 0;
	memcpy(&vcpu, (const uint8_t *)out + rule->vcpu_at, sizeof(vcpu));
	if (vcpu == VMSCOPE_ALL_VCPUS && rule->all_ok)
		return 0;
	return vcpu < lim->nr_vcpus ? 0 : bad(why, "no such vCPU", -ERANGE);
}
