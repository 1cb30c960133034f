/* Embeds the test guest ELF built in guest/; GUEST_ELF_PATH comes from the build. */
	.section .rodata.guest_image, "a"
	.balign 16
	.global vmscope_guest_elf_start
	.global vmscope_guest_elf_end
vmscope_guest_elf_start:
	.incbin GUEST_ELF_PATH
vmscope_guest_elf_end:
	.section .note.GNU-stack, "", @progbits
