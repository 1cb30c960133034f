/*
 * The vmscope introspection ABI: the one header both the hypervisor and
 * clients compile against.  Fixed-size, little-endian structs with explicit
 * padding, checked by static_assert; a version field comes first wherever a
 * structure crosses the process boundary.
 */
#ifndef VMSCOPE_ABI_H
#define VMSCOPE_ABI_H

#include <assert.h>
#include <stddef.h>
#include <stdint.h>

#define VMSCOPE_ABI_VERSION 2 /* 2: hardware breakpoints and watchpoints */

struct vmscope_segment {
	uint64_t base;
	uint32_t limit;
	uint16_t selector;
	uint8_t type;    /* descriptor type field */
	uint8_t flags;   /* bit 0 present, 1 S, 2 L, 3 D/B, 4 G, 5 unusable; bits 6-7 DPL */
};
static_assert(sizeof(struct vmscope_segment) == 16, "vmscope_segment layout");

/* A vCPU's register state, as events carry it and as get/set-registers use it. */
struct vmscope_regs {
	uint64_t rax, rbx, rcx, rdx, rsi, rdi, rsp, rbp;
	uint64_t r8, r9, r10, r11, r12, r13, r14, r15;
	uint64_t rip, rflags;
	uint64_t cr0, cr2, cr3, cr4, cr8, efer;
	struct vmscope_segment cs, ds, es, fs, gs, ss, tr, ldt;
	uint64_t gdt_base, idt_base;
	uint16_t gdt_limit, idt_limit;
	uint32_t _pad0;
	uint64_t kernel_gs_base; /* MSR_KERNEL_GS_BASE, for swapgs-aware tools: in get-registers */
				 /* replies and breakpoint events (both kinds); 0 in other events */
};
static_assert(sizeof(struct vmscope_regs) == 24 * 8 + 8 * 16 + 2 * 8 + 8 + 8,
	      "vmscope_regs layout");
static_assert(offsetof(struct vmscope_regs, rip) == 128, "vmscope_regs.rip offset");
static_assert(offsetof(struct vmscope_regs, cs) == 192, "vmscope_regs.cs offset");

/* ---- Events, responses, rings and control messages (issue 3). ---- */

/*
 * Event kinds.  A client subscribes to a kind synchronously (the vCPU waits
 * for its response) or asynchronously (it does not).
 */
enum vmscope_event_kind {
	VMSCOPE_EV_IO = 0,             /* port I/O */
	VMSCOPE_EV_MMIO = 1,           /* MMIO outside RAM */
	VMSCOPE_EV_HLT = 2,            /* HLT (only without the in-kernel irqchip) */
	VMSCOPE_EV_BREAKPOINT = 3,     /* a software breakpoint the client planted */
	VMSCOPE_EV_SINGLESTEP = 4,     /* one instruction done under single-step */
	VMSCOPE_EV_HYPERCALL = 5,      /* KVM_EXIT_HYPERCALL (KVM_HC_MAP_GPA_RANGE only) */
	VMSCOPE_EV_MSR_READ = 6,       /* rdmsr of an MSR the client named */
	VMSCOPE_EV_MSR_WRITE = 7,      /* wrmsr of an MSR the client named */
	VMSCOPE_EV_PAGE_WRITE = 8,     /* a write to a page the client protected */
	VMSCOPE_EV_SHUTDOWN = 9,       /* triple fault / KVM_EXIT_SHUTDOWN (async only) */
	VMSCOPE_EV_INTERNAL_ERROR = 10,/* KVM internal error not explained by a breakpoint */
	VMSCOPE_EV_PAUSE = 11,         /* the vCPU parked after a pause request */
	VMSCOPE_EV_VCPU_START = 12,    /* the vCPU thread is about to run the guest */
	VMSCOPE_EV_HW_BREAKPOINT = 13, /* a debug-register breakpoint or watchpoint the client set */
	VMSCOPE_EV_NR = 14,
};

/* vmscope_event.flags */
#define VMSCOPE_EVF_SYNC 1u /* the vCPU waits for a response with this seq */
/*
 * The snapshot is the vCPU's reset state, not the state of the event: a
 * shutdown on AMD SVM hosts, where KVM re-initialises the vCPU after a
 * triple fault (RIP 0xfff0) and the state where it happened is lost.
 */
#define VMSCOPE_EVF_REGS_RESET 2u

struct vmscope_ev_io {
	uint16_t port;
	uint8_t size;      /* 1, 2 or 4 */
	uint8_t is_write;
	uint32_t count;    /* > 1 for rep ins/outs */
	uint8_t data[8];   /* first element (write: what the guest wrote) */
};

struct vmscope_ev_mmio {
	uint64_t gpa;
	uint32_t len;      /* 1..8 */
	uint8_t is_write;
	uint8_t _pad[3];
	uint8_t data[8];   /* write: what the guest wrote */
};

struct vmscope_ev_breakpoint {
	uint64_t gpa;      /* where the breakpoint is planted */
	uint64_t gva;      /* the RIP that hit it */
};

/*
 * Hardware breakpoints: the four x86 debug-register slots, shared by every
 * vCPU.  Kinds are DR7's own encodings; there is no read-only watch on x86
 * (a read/write watch also fires on reads).
 */
#define VMSCOPE_HWBP_EXEC  0u /* instruction fetch: a fault, RIP is at the address */
#define VMSCOPE_HWBP_WRITE 1u /* data write: a trap, RIP is past the writing instruction */
#define VMSCOPE_HWBP_RW    3u /* data read or write: a trap, likewise */
#define VMSCOPE_HWBP_SLOTS 4u

struct vmscope_ev_hw_bp {
	uint64_t addr;     /* the slot's linear (virtual) address */
	uint64_t dr6;      /* as the CPU reported it: B0-B3 (bit = slot), BS (bit 14) */
	uint32_t slot;     /* 0..3 */
	uint8_t type;      /* VMSCOPE_HWBP_* */
	uint8_t len;       /* 1, 2, 4 or 8 bytes watched */
	uint16_t _pad;
};

struct vmscope_ev_msr {
	uint32_t index;
	uint32_t _pad;
	uint64_t value;    /* write: the value the guest writes; read: the current value */
};

struct vmscope_ev_page_write {
	uint64_t gpa;      /* the written address */
	uint32_t len;      /* 1..8 */
	uint32_t _pad;
	uint8_t data[8];   /* what the guest writes; not yet in memory */
	uint64_t page_gpa; /* the protected page */
};

struct vmscope_ev_hypercall {
	uint64_t nr;
	uint64_t args[6];
	uint64_t ret;
};

struct vmscope_ev_internal {
	uint32_t suberror;
	uint32_t ndata;    /* entries of data that are valid, at most 12 */
	uint64_t data[12];
};

struct vmscope_ev_pause {
	uint64_t reason;   /* 0: client request, 1: --vmi-wait start */
};

#define VMSCOPE_EVENT_DATA_SIZE 104

/* One event, as the hypervisor writes it to a vCPU's event ring. */
struct vmscope_event {
	uint32_t kind;     /* enum vmscope_event_kind */
	uint32_t vcpu;
	uint64_t seq;      /* per vCPU, from 1; a response names it */
	uint32_t flags;    /* VMSCOPE_EVF_* */
	uint32_t _pad0;
	uint64_t _pad1;
	union {
		struct vmscope_ev_io io;
		struct vmscope_ev_mmio mmio;
		struct vmscope_ev_breakpoint bp;
		struct vmscope_ev_msr msr;
		struct vmscope_ev_page_write page_write;
		struct vmscope_ev_hypercall hypercall;
		struct vmscope_ev_internal internal;
		struct vmscope_ev_pause pause;
		struct vmscope_ev_hw_bp hw_bp;
		uint8_t raw[VMSCOPE_EVENT_DATA_SIZE];
	} u;
	struct vmscope_regs regs; /* snapshot at the exit */
};
static_assert(sizeof(struct vmscope_ev_io) == 16, "ev_io layout");
static_assert(sizeof(struct vmscope_ev_mmio) == 24, "ev_mmio layout");
static_assert(sizeof(struct vmscope_ev_page_write) == 32, "ev_page_write layout");
static_assert(sizeof(struct vmscope_ev_hypercall) == 64, "ev_hypercall layout");
static_assert(sizeof(struct vmscope_ev_internal) == 104, "ev_internal layout");
static_assert(sizeof(struct vmscope_ev_hw_bp) == 24, "ev_hw_bp layout");
static_assert(offsetof(struct vmscope_event, seq) == 8, "vmscope_event.seq offset");
static_assert(offsetof(struct vmscope_event, u) == 32, "vmscope_event.u offset");
static_assert(offsetof(struct vmscope_event, regs) == 136, "vmscope_event.regs offset");
static_assert(sizeof(struct vmscope_event) == 488, "vmscope_event layout");

/* vmscope_response.flags: what the vCPU does next. 0 = continue. */
#define VMSCOPE_RSP_SET_REGS        1u  /* load regs (general registers and RIP/RFLAGS) */
#define VMSCOPE_RSP_TOGGLE_SS       2u  /* toggle single-step on this vCPU */
#define VMSCOPE_RSP_SKIP            4u  /* skip the instruction (breakpoint: do not execute it; */
					/* I/O, MMIO, MSR: do not emulate it) */
#define VMSCOPE_RSP_DENY            8u  /* page write / MSR write: drop the write */
#define VMSCOPE_RSP_SET_DATA       16u  /* I/O, MMIO or MSR read: return data */
#define VMSCOPE_RSP_ALL            31u

struct vmscope_response {
	uint64_t seq;      /* of the event answered */
	uint32_t flags;    /* VMSCOPE_RSP_* */
	uint32_t _pad0;
	uint8_t data[8];   /* VMSCOPE_RSP_SET_DATA: little-endian value */
	uint64_t _pad1;
	struct vmscope_regs regs; /* VMSCOPE_RSP_SET_REGS */
};
static_assert(offsetof(struct vmscope_response, regs) == 32, "vmscope_response.regs offset");
static_assert(sizeof(struct vmscope_response) == 384, "vmscope_response layout");

/*
 * The event channel: one memfd, shared read-write.  Layout:
 *   struct vmscope_chan_header        (at 0, one page)
 *   per vCPU v, at header.vcpu_offset + v * header.vcpu_stride:
 *     struct vmscope_ring ev          (+ ev_slots events)
 *     struct vmscope_ring rsp         (+ rsp_slots responses)
 * Ring counters are free-running uint64; slot = counter & (slots - 1).  The
 * producer writes the slot, then head (release); the consumer reads head
 * (acquire), the slot, then tail (release).
 */
#define VMSCOPE_CHAN_MAGIC 0x4e414843534d56ULL /* "VMSCHAN" */
#define VMSCOPE_MAX_VCPUS 32 /* VMI limit: the eventfds must fit one SCM_RIGHTS */

struct vmscope_ring {
	uint64_t head;         /* producer: next slot to fill */
	uint8_t _pad0[56];
	uint64_t tail;         /* consumer: next slot to read */
	uint8_t _pad1[56];
	uint32_t waiting;      /* consumer sleeps on its eventfd: producer must write it */
	uint32_t _pad2;
	uint64_t overflow;     /* events dropped because the ring was full (async only) */
	uint8_t _pad3[48];
	/* slots follow, 64-byte aligned */
};
static_assert(sizeof(struct vmscope_ring) == 192, "vmscope_ring layout");
static_assert(offsetof(struct vmscope_ring, tail) == 64, "vmscope_ring.tail offset");
static_assert(offsetof(struct vmscope_ring, waiting) == 128, "vmscope_ring.waiting offset");

struct vmscope_chan_header {
	uint64_t magic;        /* VMSCOPE_CHAN_MAGIC */
	uint32_t version;      /* VMSCOPE_ABI_VERSION */
	uint32_t nr_vcpus;
	uint32_t ev_slots;     /* power of two */
	uint32_t rsp_slots;    /* power of two */
	uint32_t ev_size;      /* sizeof(struct vmscope_event) */
	uint32_t rsp_size;     /* sizeof(struct vmscope_response) */
	uint64_t vcpu_offset;  /* where vCPU 0's rings start */
	uint64_t vcpu_stride;
	uint64_t rsp_offset;   /* of the response ring inside a vCPU's area */
	uint64_t total_size;   /* of the memfd */
	uint32_t client_waiting; /* the client sleeps on the event eventfd */
	uint32_t _pad0;
	uint64_t sync_mask;    /* kinds subscribed synchronously (informative) */
	uint64_t watch_mask;   /* kinds subscribed (informative) */
	uint64_t exits[VMSCOPE_MAX_VCPUS][VMSCOPE_EV_NR + 3]; /* exit counts by kind, +3: other */
};
static_assert(offsetof(struct vmscope_chan_header, vcpu_offset) == 32, "chan header layout");
static_assert(offsetof(struct vmscope_chan_header, exits) == 88, "chan header layout");
#define VMSCOPE_STAT_OTHER VMSCOPE_EV_NR /* index in exits[v][] for exits of no kind */
#define VMSCOPE_STAT_TOTAL (VMSCOPE_EV_NR + 1)

/*
 * Control messages, over the SOCK_SEQPACKET socket: one message per packet,
 * a header then a fixed-size payload per type (len = sizeof header + payload,
 * exactly).  Every request gets one reply: the header (same type and id),
 * int32 status (0 or -errno), then the type's reply payload.
 */
enum vmscope_msg_type {
	VMSCOPE_MSG_ATTACH = 1,      /* -> reply + fds: [ram memfd, channel memfd, event efd, rsp efd x nr_vcpus] */
	VMSCOPE_MSG_DETACH = 2,
	VMSCOPE_MSG_SUBSCRIBE = 3,
	VMSCOPE_MSG_UNSUBSCRIBE = 4,
	VMSCOPE_MSG_PAUSE = 5,
	VMSCOPE_MSG_RESUME = 6,
	VMSCOPE_MSG_GET_REGS = 7,
	VMSCOPE_MSG_SET_REGS = 8,
	VMSCOPE_MSG_GET_MSR = 9,
	VMSCOPE_MSG_SET_MSR = 10,
	VMSCOPE_MSG_SET_BP = 11,
	VMSCOPE_MSG_CLEAR_BP = 12,
	VMSCOPE_MSG_SINGLESTEP = 13,
	VMSCOPE_MSG_PROTECT = 14,
	VMSCOPE_MSG_UNPROTECT = 15,
	VMSCOPE_MSG_INJECT = 16,
	VMSCOPE_MSG_MSR_WATCH = 17,  /* name the MSRs MSR events are for */
	VMSCOPE_MSG_SET_HWBP = 18,   /* -> reply: struct vmscope_msg_hwbp with slot */
	VMSCOPE_MSG_CLEAR_HWBP = 19,
	VMSCOPE_MSG_TYPE_MAX = 19,
};

#define VMSCOPE_ALL_VCPUS 0xffffffffu

struct vmscope_msg_hdr {
	uint32_t type;
	uint32_t len;      /* of the whole message, header included */
	uint64_t id;       /* chosen by the client, echoed in the reply */
};
static_assert(sizeof(struct vmscope_msg_hdr) == 16, "msg header layout");

struct vmscope_msg_attach {
	uint32_t abi_version; /* VMSCOPE_ABI_VERSION */
	uint32_t _pad;
};
struct vmscope_msg_attach_reply {
	uint32_t abi_version;
	uint32_t nr_vcpus;
	uint64_t ram_size;     /* of the RAM memfd */
	uint64_t chan_size;    /* of the channel memfd */
	uint32_t nr_regions;
	uint32_t flags;        /* VMSCOPE_ATTACH_* */
	struct { uint64_t gpa, size, offset; } regions[4]; /* guest-physical map of the memfd */
	uint64_t caps;         /* kinds this host can deliver (bit per kind) */
};
#define VMSCOPE_ATTACH_PAUSED 1u   /* vCPUs wait for a resume (--vmi-wait) */
#define VMSCOPE_ATTACH_EMULATED 2u /* KVM without VT-x/AMD-V: user-mode int3 and single-step are not seen */
static_assert(sizeof(struct vmscope_msg_attach_reply) == 136, "attach reply layout");

struct vmscope_msg_subscribe {
	uint32_t kind;     /* enum vmscope_event_kind */
	uint32_t sync;     /* 0 async, 1 sync */
};
struct vmscope_msg_vcpu {      /* pause, resume, get regs, single-step */
	uint32_t vcpu;     /* index, or VMSCOPE_ALL_VCPUS where the command allows */
	uint32_t enable;   /* single-step: 1 on, 0 off */
};
struct vmscope_msg_regs {      /* set regs request; get regs reply */
	uint32_t vcpu;
	uint32_t _pad;
	struct vmscope_regs regs;
};
struct vmscope_msg_msr {       /* get/set MSR request and get reply */
	uint32_t vcpu;
	uint32_t index;
	uint64_t value;
};
struct vmscope_msg_gpa {       /* breakpoints, page protection */
	uint64_t gpa;      /* breakpoint: any byte; protect: page-aligned */
};
/*
 * Set or clear a hardware breakpoint: addr is a linear address (translated
 * by the vCPU's paging when it runs), aligned to len; exec takes len 1.
 * Clear names the same addr, type and len.
 */
struct vmscope_msg_hwbp {
	uint64_t addr;
	uint8_t type;      /* VMSCOPE_HWBP_* */
	uint8_t len;       /* 1, 2, 4, 8 */
	uint16_t _pad;
	uint32_t slot;     /* reply: the slot it holds; request: 0 */
};
struct vmscope_msg_inject {
	uint32_t vcpu;
	uint8_t vector;    /* 0..31 */
	uint8_t has_error;
	uint16_t _pad;
	uint32_t error_code;
	uint32_t _pad2;
};
#define VMSCOPE_MAX_WATCHED_MSRS 16
struct vmscope_msg_msr_watch {
	uint32_t nr;       /* 0..VMSCOPE_MAX_WATCHED_MSRS; 0 stops MSR events */
	uint32_t _pad;
	uint32_t index[VMSCOPE_MAX_WATCHED_MSRS];
};
static_assert(sizeof(struct vmscope_msg_regs) == 8 + sizeof(struct vmscope_regs), "msg_regs layout");
static_assert(sizeof(struct vmscope_msg_inject) == 16, "msg_inject layout");
static_assert(sizeof(struct vmscope_msg_hwbp) == 16, "msg_hwbp layout");
static_assert(sizeof(struct vmscope_msg_msr_watch) == 72, "msg_msr_watch layout");

struct vmscope_msg_reply_hdr {
	struct vmscope_msg_hdr hdr;
	int32_t status;    /* 0 or -errno */
	uint32_t _pad;
	char error[64];    /* NUL-terminated reason when status < 0 */
};
static_assert(sizeof(struct vmscope_msg_reply_hdr) == 88, "reply header layout");

#define VMSCOPE_MSG_MAX 512 /* no message is larger */


#endif
