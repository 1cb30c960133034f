/* The embedded test guest ELF, linked into vmscope (guest_image.S). */
#ifndef VMSCOPE_GUEST_IMAGE_H
#define VMSCOPE_GUEST_IMAGE_H

#include <stdint.h>

extern const uint8_t vmscope_guest_elf_start[];
extern const uint8_t vmscope_guest_elf_end[];

#endif
