/*
 * Test guest entry points and low-level kernel code.
 *
 *  tg_entry64     ELF e_entry: every vCPU, 64-bit, started by vmscope
 *                 (rdi = vCPU index, rsi = boot_params, rdx = vCPU count).
 *  tg_pvh_entry   Xen PVH entry (32-bit, paging off, ebx = hvm_start_info):
 *                 QEMU microvm and other PVH loaders, one CPU.
 *  tg_vectors     exception stubs at a fixed address (TG_KERNEL_BASE) so
 *                 that data.S can build the IDT statically.
 *  tg_syscall_entry  the `syscall` target (MSR_LSTAR).
 */
#include "layout.h"

	.section .text.vectors, "ax"
	.code64
/* 32 stubs of 16 bytes each, at TG_KERNEL_BASE (checked by link.ld). */
	.globl tg_vectors
tg_vectors:
	.set vec, 0
	.rept 32
	.balign 16
	/* vectors 8, 10-14, 17, 21, 29, 30 push an error code */
	.if (vec == 8) || (vec >= 10 && vec <= 14) || (vec == 17) || (vec == 21) || (vec == 29) || (vec == 30)
	pushq $vec
	.else
	pushq $0
	pushq $vec
	.endif
	jmp tg_exc_common
	.set vec, vec + 1
	.endr
	.balign 16
tg_vectors_end:

	.text
	.code64
/* [rsp] = vector, error, rip, cs, rflags, rsp, ss */
tg_exc_common:
	cld
	/*
	 * kvm_pvm quirk: a `syscall` from CPL3 jumps to MSR_LSTAR but stays at
	 * CPL3 (rcx and r11 are set right), so the fetch of the supervisor-only
	 * tg_syscall_entry page faults.  Finish the syscall's job: back to the
	 * user stack, then run tg_syscall_entry at CPL0 with every register as
	 * a real `syscall` leaves it.  Never taken where `syscall` works.
	 */
	cmpq $14, (%rsp)
	jne 1f
	cmpq $tg_syscall_entry, 16(%rsp)
	jne 1f
	testb $3, 24(%rsp)
	jz 1f
	mov 40(%rsp), %rsp
	jmp tg_syscall_entry
1:
	mov %rsp, %rdi
	and $-16, %rsp
	call tg_exception
	jmp tg_park

	.globl tg_entry64
	.type tg_entry64, @function
tg_entry64:
	cli
	cld
	cmp $TG_MAX_CPUS, %rdi
	jae tg_park
	lea 1(%rdi), %rax
	shl $12, %rax                   /* TG_KSTACK_SIZE */
	lea tg_boot_stacks(%rax), %rsp
	mov $tg_kernel_pml4, %eax
	mov %rax, %cr3
	xor %ebp, %ebp
	/* tg_kmain(cpu = rdi, boot_params = rsi, ncpus = rdx) */
	call tg_kmain
	jmp tg_park
	.size tg_entry64, . - tg_entry64

	.globl tg_park
	.type tg_park, @function
tg_park:
	cli
	hlt
	jmp tg_park
	.size tg_park, . - tg_park

/*
 * syscall: rax = number, rdi, rsi, rdx = arguments; rcx = user rip,
 * r11 = user rflags.  The arguments are untouched at this first instruction.
 */
	.globl tg_syscall_entry
	.type tg_syscall_entry, @function
tg_syscall_entry:
	swapgs
	mov %rsp, %gs:TG_PC_USER_RSP
	mov %gs:TG_PC_KSTACK_TOP, %rsp
	pushq %gs:TG_PC_USER_RSP
	push %rcx
	push %r11
	push %rbp
	mov %rdx, %rcx
	mov %rsi, %rdx
	mov %rdi, %rsi
	mov %rax, %rdi
	call tg_syscall                 /* preserves rbx, rbp, r12-r15 */
	pop %rbp
	pop %r11
	pop %rcx
	pop %rsp
	xor %edi, %edi
	xor %esi, %esi
	xor %edx, %edx
	xor %r8d, %r8d
	xor %r9d, %r9d
	xor %r10d, %r10d
	swapgs
	sysretq
	.size tg_syscall_entry, . - tg_syscall_entry

/* First run of a task: tg_switch "returns" here on the task's kernel stack. */
	.globl tg_task_start
	.type tg_task_start, @function
tg_task_start:
	mov $tg_user_main, %ecx
	mov $0x2, %r11d                 /* user rflags: IF off, no interrupts used */
	mov $(TG_USER_STACK_TOP - 8), %rsp
	xor %eax, %eax
	xor %edi, %edi
	xor %esi, %esi
	xor %edx, %edx
	swapgs
	sysretq
	.size tg_task_start, . - tg_task_start

/* tg_switch(uint64_t *save_rsp, uint64_t new_rsp) */
	.globl tg_switch
	.type tg_switch, @function
tg_switch:
	push %rbx
	push %rbp
	push %r12
	push %r13
	push %r14
	push %r15
	mov %rsp, (%rdi)
	mov %rsi, %rsp
	pop %r15
	pop %r14
	pop %r13
	pop %r12
	pop %rbp
	pop %rbx
	ret
	.size tg_switch, . - tg_switch

/* tg_load_gdt(const gdtr *): lgdt and reload every segment register. */
	.globl tg_load_gdt
	.type tg_load_gdt, @function
tg_load_gdt:
	lgdt (%rdi)
	mov $TG_SEL_KDATA, %eax
	mov %eax, %ds
	mov %eax, %es
	mov %eax, %ss
	xor %eax, %eax
	mov %eax, %fs
	mov %eax, %gs
	pop %rax
	pushq $TG_SEL_KCODE
	push %rax
	lretq
	.size tg_load_gdt, . - tg_load_gdt

/* PVH: 32-bit protected mode, paging off, ebx = struct hvm_start_info. */
	.code32
	.globl tg_pvh_entry
	.type tg_pvh_entry, @function
tg_pvh_entry:
	cli
	cld
	mov $tg_kernel_pml4, %eax
	mov %eax, %cr3
	mov %cr4, %eax
	or $0x20, %eax                  /* PAE */
	mov %eax, %cr4
	mov $0xc0000080, %ecx           /* EFER */
	rdmsr
	or $0x100, %eax                 /* LME */
	wrmsr
	mov %cr0, %eax
	or $0x80000001, %eax            /* PG | PE */
	mov %eax, %cr0
	lgdt tg_boot_gdtr
	ljmp $TG_SEL_KCODE, $1f
	.code64
1:	mov $TG_SEL_KDATA, %eax
	mov %eax, %ds
	mov %eax, %es
	mov %eax, %ss
	xor %edi, %edi                  /* vCPU 0 */
	mov %ebx, %esi                  /* hvm_start_info (unused) */
	mov $1, %edx                    /* one vCPU */
	jmp tg_entry64
	.size tg_pvh_entry, . - tg_pvh_entry

	.section .note.GNU-stack, "", @progbits
