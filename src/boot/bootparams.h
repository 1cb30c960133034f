/*
 * The Linux x86 "zero page" (struct boot_params) and its setup header, as
 * Documentation/arch/x86/boot.rst and zero-page.rst describe them.  Our own
 * packed definitions: only the fields a loader touches are named, every
 * offset is checked against the documented one at compile time.
 */
#ifndef VMSCOPE_BOOT_BOOTPARAMS_H
#define VMSCOPE_BOOT_BOOTPARAMS_H

#include <assert.h>
#include <stddef.h>
#include <stdint.h>

#include "boot/loader.h"

#define BP_HDR_MAGIC          0x53726448u /* "HdrS" */
#define BP_BOOT_FLAG          0xaa55u
#define BP_LOADER_UNDEFINED   0xff        /* type_of_loader: "undefined" boot loader */
#define BP_VID_MODE_NORMAL    0xffffu     /* vid_mode: "normal" VGA, no prompt */

/* loadflags */
#define BP_LOADED_HIGH   0x01u
#define BP_KASLR_FLAG    0x02u
#define BP_QUIET_FLAG    0x20u
#define BP_KEEP_SEGMENTS 0x40u
#define BP_CAN_USE_HEAP  0x80u

/* xloadflags */
#define BP_XLF_KERNEL_64            0x01u
#define BP_XLF_CAN_BE_LOADED_ABOVE_4G 0x02u

#define BP_E820_MAX_ENTRIES 128

struct setup_header {
	uint8_t setup_sects;
	uint16_t root_flags;
	uint32_t syssize;
	uint16_t ram_size;
	uint16_t vid_mode;
	uint16_t root_dev;
	uint16_t boot_flag;
	uint16_t jump;
	uint32_t header;
	uint16_t version;
	uint32_t realmode_swtch;
	uint16_t start_sys_seg;
	uint16_t kernel_version;
	uint8_t type_of_loader;
	uint8_t loadflags;
	uint16_t setup_move_size;
	uint32_t code32_start;
	uint32_t ramdisk_image;
	uint32_t ramdisk_size;
	uint32_t bootsect_kludge;
	uint16_t heap_end_ptr;
	uint8_t ext_loader_ver;
	uint8_t ext_loader_type;
	uint32_t cmd_line_ptr;
	uint32_t initrd_addr_max;
	uint32_t kernel_alignment;
	uint8_t relocatable_kernel;
	uint8_t min_alignment;
	uint16_t xloadflags;
	uint32_t cmdline_size;
	uint32_t hardware_subarch;
	uint64_t hardware_subarch_data;
	uint32_t payload_offset;
	uint32_t payload_length;
	uint64_t setup_data;
	uint64_t pref_address;
	uint32_t init_size;
	uint32_t handover_offset;
	uint32_t kernel_info_offset;
} __attribute__((packed));

struct boot_e820_entry {
	uint64_t addr;
	uint64_t size;
	uint32_t type;
} __attribute__((packed));

struct boot_params {
	uint8_t screen_info[0x40];          /* 0x000 */
	uint8_t apm_bios_info[0x14];        /* 0x040 */
	uint8_t _pad2[4];                   /* 0x054 */
	uint64_t tboot_addr;                /* 0x058 */
	uint8_t ist_info[0x10];             /* 0x060 */
	uint64_t acpi_rsdp_addr;            /* 0x070 */
	uint8_t _pad3[8];                   /* 0x078 */
	uint8_t hd0_info[16];               /* 0x080 */
	uint8_t hd1_info[16];               /* 0x090 */
	uint8_t sys_desc_table[0x10];       /* 0x0a0 */
	uint8_t olpc_ofw_header[0x10];      /* 0x0b0 */
	uint32_t ext_ramdisk_image;         /* 0x0c0 */
	uint32_t ext_ramdisk_size;          /* 0x0c4 */
	uint32_t ext_cmd_line_ptr;          /* 0x0c8 */
	uint8_t _pad4[112];                 /* 0x0cc */
	uint32_t cc_blob_address;           /* 0x13c */
	uint8_t edid_info[0x80];            /* 0x140 */
	uint8_t efi_info[0x20];             /* 0x1c0 */
	uint32_t alt_mem_k;                 /* 0x1e0 */
	uint32_t scratch;                   /* 0x1e4 */
	uint8_t e820_entries;               /* 0x1e8 */
	uint8_t eddbuf_entries;             /* 0x1e9 */
	uint8_t edd_mbr_sig_buf_entries;    /* 0x1ea */
	uint8_t kbd_status;                 /* 0x1eb */
	uint8_t secure_boot;                /* 0x1ec */
	uint8_t _pad5[2];                   /* 0x1ed */
	uint8_t sentinel;                   /* 0x1ef: must stay 0 */
	uint8_t _pad6[1];                   /* 0x1f0 */
	struct setup_header hdr;            /* 0x1f1 */
	uint8_t _pad7[0x290 - 0x1f1 - sizeof(struct setup_header)];
	uint32_t edd_mbr_sig_buffer[16];    /* 0x290 */
	struct boot_e820_entry e820_table[BP_E820_MAX_ENTRIES]; /* 0x2d0 */
	uint8_t _pad8[48];                  /* 0xcd0 */
	uint8_t eddbuf[6 * 82];             /* 0xd00: 6 struct edd_info */
	uint8_t _pad9[276];                 /* 0xeec */
} __attribute__((packed));

static_assert(sizeof(struct setup_header) == 0x26c - 0x1f1, "setup_header size");
static_assert(sizeof(struct boot_e820_entry) == 20, "e820 entry size");
static_assert(sizeof(struct boot_params) == 4096, "boot_params is one page");
static_assert(offsetof(struct boot_params, ext_ramdisk_image) == 0x0c0, "ext_ramdisk_image");
static_assert(offsetof(struct boot_params, ext_cmd_line_ptr) == 0x0c8, "ext_cmd_line_ptr");
static_assert(offsetof(struct boot_params, cc_blob_address) == 0x13c, "cc_blob_address");
static_assert(offsetof(struct boot_params, e820_entries) == 0x1e8, "e820_entries");
static_assert(offsetof(struct boot_params, sentinel) == 0x1ef, "sentinel");
static_assert(offsetof(struct boot_params, hdr) == 0x1f1, "hdr");
static_assert(offsetof(struct boot_params, edd_mbr_sig_buffer) == 0x290, "edd_mbr_sig_buffer");
static_assert(offsetof(struct boot_params, e820_table) == 0x2d0, "e820_table");
static_assert(offsetof(struct boot_params, eddbuf) == 0xd00, "eddbuf");

/* Offsets of setup header fields in a bzImage file (= in boot_params). */
#define BP_OFF(field) (offsetof(struct boot_params, hdr) + offsetof(struct setup_header, field))
static_assert(BP_OFF(setup_sects) == 0x1f1, "setup_sects");
static_assert(BP_OFF(syssize) == 0x1f4, "syssize");
static_assert(BP_OFF(vid_mode) == 0x1fa, "vid_mode");
static_assert(BP_OFF(boot_flag) == 0x1fe, "boot_flag");
static_assert(BP_OFF(jump) == 0x200, "jump");
static_assert(BP_OFF(header) == 0x202, "header");
static_assert(BP_OFF(version) == 0x206, "version");
static_assert(BP_OFF(type_of_loader) == 0x210, "type_of_loader");
static_assert(BP_OFF(loadflags) == 0x211, "loadflags");
static_assert(BP_OFF(code32_start) == 0x214, "code32_start");
static_assert(BP_OFF(ramdisk_image) == 0x218, "ramdisk_image");
static_assert(BP_OFF(ramdisk_size) == 0x21c, "ramdisk_size");
static_assert(BP_OFF(heap_end_ptr) == 0x224, "heap_end_ptr");
static_assert(BP_OFF(cmd_line_ptr) == 0x228, "cmd_line_ptr");
static_assert(BP_OFF(initrd_addr_max) == 0x22c, "initrd_addr_max");
static_assert(BP_OFF(kernel_alignment) == 0x230, "kernel_alignment");
static_assert(BP_OFF(relocatable_kernel) == 0x234, "relocatable_kernel");
static_assert(BP_OFF(xloadflags) == 0x236, "xloadflags");
static_assert(BP_OFF(cmdline_size) == 0x238, "cmdline_size");
static_assert(BP_OFF(payload_offset) == 0x248, "payload_offset");
static_assert(BP_OFF(payload_length) == 0x24c, "payload_length");
static_assert(BP_OFF(pref_address) == 0x258, "pref_address");
static_assert(BP_OFF(init_size) == 0x260, "init_size");
static_assert(BP_OFF(kernel_info_offset) == 0x268, "kernel_info_offset");

/* Default initrd_addr_max for kernels that do not say (an ELF vmlinux). */
#define BP_INITRD_ADDR_MAX_DEFAULT 0x7fffffffu
/* COMMAND_LINE_SIZE of x86 Linux is 2048, terminating NUL included. */
#define BP_LINUX_CMDLINE_MAX 2047u

/*
 * Zeroes the zero page at BOOT_PARAMS_ADDR and fills its e820 table from
 * req->map.  Returns the host pointer, or NULL with err set.
 */
struct boot_params *bootparams__init(const struct boot_request *req, char *err, size_t errlen);

/*
 * The setup header fields a loader that enters an ELF vmlinux at its 64-bit
 * entry must provide (there is no real setup header to copy).
 */
void bootparams__elf_header(struct boot_params *bp);

/*
 * Copies req->cmdline to BOOT_CMDLINE_ADDR and points cmd_line_ptr at it.
 * max_len: the longest command line the kernel accepts, NUL excluded.
 */
int bootparams__set_cmdline(const struct boot_request *req, struct boot_params *bp,
			    uint64_t max_len, char *err, size_t errlen);

/*
 * Places req->initrd (if any) page-aligned as high as possible below
 * min(low RAM end, addr_max + 1) and at or above kernel_end, copies it there
 * and fills ramdisk_image/ramdisk_size (and their ext_ halves).
 */
int bootparams__place_initrd(const struct boot_request *req, struct boot_params *bp,
			     uint64_t kernel_end, uint64_t addr_max, char *err, size_t errlen);

/*
 * Shared by the loaders: writes "<name>: <message>" into err (one line, no
 * newline; a name of NULL reads as "kernel").  Returns -1.
 */
int boot__err(char *err, size_t errlen, const char *name, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* "0x0-0xc0000000, 0x100000000-0x140000000": the RAM ranges, for messages. */
void bootparams__describe_ram(const struct memmap *map, char *buf, size_t len);

#endif
