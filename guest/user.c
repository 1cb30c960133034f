/*
 * The user-mode (CPL3) side of every test-guest task.  Linked at
 * TG_USER_TEXT_VA (shared, read-only pages); it must not define writable
 * globals: per-task state lives in its private page, tg_upage.
 */
#include <stdint.h>
#include <vmscope/testguest.h>

#include "layout.h"
#include "work.h"

/* Absolute symbol (data.S): the page at TG_USER_PAGE_VA of the current task. */
extern volatile struct tg_upage tg_upage;

void tg_user_main(void) __attribute__((noreturn, used));

static inline uint64_t tg_sys(uint64_t nr, uint64_t a0, uint64_t a1, uint64_t a2)
{
	uint64_t ret;

	/* The kernel clears rdi, rsi, rdx, r8-r11 and rcx on return. */
	__asm__ volatile("syscall"
			 : "=a"(ret), "+D"(a0), "+S"(a1), "+d"(a2)
			 : "a"(nr)
			 : "rcx", "r8", "r9", "r10", "r11", "memory", "cc");
	return ret;
}

static char *put_str(char *p, const volatile char *s, uint32_t max)
{
	for (uint32_t i = 0; i < max && s[i]; i++)
		*p++ = s[i];
	return p;
}

static char *put_dec(char *p, uint64_t v)
{
	char tmp[20];
	int n = 0;

	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (n)
		*p++ = tmp[--n];
	return p;
}

static char *put_hex(char *p, uint64_t v)
{
	*p++ = '0';
	*p++ = 'x';
	for (int s = 60; s >= 0; s -= 4)
		*p++ = "0123456789abcdef"[(v >> s) & 15];
	return p;
}

/* Entry of every task (first sysret lands here, rsp = TG_USER_STACK_TOP - 8). */
void tg_user_main(void)
{
	char line[96];
	char *p = line;
	uint32_t id = (uint32_t)tg_sys(TG_SYS_GETID, 0, 0, 0);
	uint32_t code = 0;
	uint64_t result;

	tg_upage.phase = 1;
	if (tg_upage.id != id)
		code = 1; /* the private page belongs to another task */
	for (int i = 0; i < 3; i++) {
		tg_sys(TG_SYS_YIELD, 0, 0, 0);
		tg_upage.phase++;
	}

	result = tg_work(id);
	tg_upage.result = result;

	/* "task 1 (alpha): result 0x0123456789abcdef\n" */
	p = put_str(p, "task ", 5);
	p = put_dec(p, id);
	p = put_str(p, " (", 2);
	p = put_str(p, tg_upage.name, sizeof(tg_upage.name));
	p = put_str(p, "): result ", 10);
	p = put_hex(p, result);
	*p++ = '\n';
	tg_sys(TG_SYS_WRITE, (uint64_t)(uintptr_t)line, (uint64_t)(p - line), 0);

	tg_upage.phase = 9;
	tg_sys(TG_SYS_EXIT, code, result, 0);
	for (;;)
		; /* not reached: the kernel never returns from exit */
}
