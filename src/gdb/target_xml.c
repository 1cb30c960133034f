/* The x86-64 target description and the register table that matches it. */
#include "gdb/regs.h"

#define R(n, field) { n, offsetof(struct gdb_regs, field), sizeof(((struct gdb_regs *)0)->field) }
#define RA(n, field, i) { n, offsetof(struct gdb_regs, field[i]), sizeof(((struct gdb_regs *)0)->field[i]) }

const struct gdb_reg_desc gdb_reg_table[] = {
	RA("rax", gpr, 0), RA("rbx", gpr, 1), RA("rcx", gpr, 2), RA("rdx", gpr, 3),
	RA("rsi", gpr, 4), RA("rdi", gpr, 5), RA("rbp", gpr, 6), RA("rsp", gpr, 7),
	RA("r8", gpr, 8), RA("r9", gpr, 9), RA("r10", gpr, 10), RA("r11", gpr, 11),
	RA("r12", gpr, 12), RA("r13", gpr, 13), RA("r14", gpr, 14), RA("r15", gpr, 15),
	R("rip", rip), R("eflags", eflags),
	RA("cs", seg, 0), RA("ss", seg, 1), RA("ds", seg, 2), RA("es", seg, 3),
	RA("fs", seg, 4), RA("gs", seg, 5),
	RA("st0", st, 0), RA("st1", st, 1), RA("st2", st, 2), RA("st3", st, 3),
	RA("st4", st, 4), RA("st5", st, 5), RA("st6", st, 6), RA("st7", st, 7),
	R("fctrl", fctrl), R("fstat", fstat), R("ftag", ftag), R("fiseg", fiseg),
	R("fioff", fioff), R("foseg", foseg), R("fooff", fooff), R("fop", fop),
	RA("xmm0", xmm, 0), RA("xmm1", xmm, 1), RA("xmm2", xmm, 2), RA("xmm3", xmm, 3),
	RA("xmm4", xmm, 4), RA("xmm5", xmm, 5), RA("xmm6", xmm, 6), RA("xmm7", xmm, 7),
	RA("xmm8", xmm, 8), RA("xmm9", xmm, 9), RA("xmm10", xmm, 10), RA("xmm11", xmm, 11),
	RA("xmm12", xmm, 12), RA("xmm13", xmm, 13), RA("xmm14", xmm, 14), RA("xmm15", xmm, 15),
	R("mxcsr", mxcsr),
	R("fs_base", fs_base), R("gs_base", gs_base),
	R("k_gs_base", k_gs_base), R("cr0", cr0), R("cr2", cr2), R("cr3", cr3),
	R("cr4", cr4), R("cr8", cr8), R("efer", efer),
};

const unsigned gdb_nr_regs = sizeof(gdb_reg_table) / sizeof(gdb_reg_table[0]);

const size_t gdb_regs_g_size = 16 * 8 + 8 + 4 + 6 * 4 + 8 * 10 + 8 * 4 + 16 * 16 + 4 + 2 * 8 + 7 * 8;

#define GPR(n, t) "<reg name=\"" n "\" bitsize=\"64\" type=\"" t "\"/>"
#define R32(n, t) "<reg name=\"" n "\" bitsize=\"32\" type=\"" t "\"/>"
#define ST(n) "<reg name=\"" n "\" bitsize=\"80\" type=\"i387_ext\"/>"
#define XMM(n) "<reg name=\"" n "\" bitsize=\"128\" type=\"vec128\"/>"
#define FPU(n) "<reg name=\"" n "\" bitsize=\"32\" type=\"int\" group=\"float\"/>"

const char gdb_target_xml[] =
	"<?xml version=\"1.0\"?>"
	"<!DOCTYPE target SYSTEM \"gdb-target.dtd\">"
	"<target version=\"1.0\">"
	"<architecture>i386:x86-64</architecture>"
	"<feature name=\"org.gnu.gdb.i386.core\">"
	"<flags id=\"i386_eflags\" size=\"4\">"
	"<field name=\"CF\" start=\"0\" end=\"0\"/><field name=\"\" start=\"1\" end=\"1\"/>"
	"<field name=\"PF\" start=\"2\" end=\"2\"/><field name=\"AF\" start=\"4\" end=\"4\"/>"
	"<field name=\"ZF\" start=\"6\" end=\"6\"/><field name=\"SF\" start=\"7\" end=\"7\"/>"
	"<field name=\"TF\" start=\"8\" end=\"8\"/><field name=\"IF\" start=\"9\" end=\"9\"/>"
	"<field name=\"DF\" start=\"10\" end=\"10\"/><field name=\"OF\" start=\"11\" end=\"11\"/>"
	"<field name=\"NT\" start=\"14\" end=\"14\"/><field name=\"RF\" start=\"16\" end=\"16\"/>"
	"<field name=\"VM\" start=\"17\" end=\"17\"/><field name=\"AC\" start=\"18\" end=\"18\"/>"
	"<field name=\"VIF\" start=\"19\" end=\"19\"/><field name=\"VIP\" start=\"20\" end=\"20\"/>"
	"<field name=\"ID\" start=\"21\" end=\"21\"/>"
	"</flags>"
	GPR("rax", "int64") GPR("rbx", "int64") GPR("rcx", "int64") GPR("rdx", "int64")
	GPR("rsi", "int64") GPR("rdi", "int64") GPR("rbp", "data_ptr") GPR("rsp", "data_ptr")
	GPR("r8", "int64") GPR("r9", "int64") GPR("r10", "int64") GPR("r11", "int64")
	GPR("r12", "int64") GPR("r13", "int64") GPR("r14", "int64") GPR("r15", "int64")
	GPR("rip", "code_ptr") R32("eflags", "i386_eflags")
	R32("cs", "int32") R32("ss", "int32") R32("ds", "int32") R32("es", "int32")
	R32("fs", "int32") R32("gs", "int32")
	ST("st0") ST("st1") ST("st2") ST("st3") ST("st4") ST("st5") ST("st6") ST("st7")
	FPU("fctrl") FPU("fstat") FPU("ftag") FPU("fiseg") FPU("fioff") FPU("foseg")
	FPU("fooff") FPU("fop")
	"</feature>"
	"<feature name=\"org.gnu.gdb.i386.sse\">"
	"<vector id=\"v8bf16\" type=\"bfloat16\" count=\"8\"/>"
	"<vector id=\"v4f\" type=\"ieee_single\" count=\"4\"/>"
	"<vector id=\"v2d\" type=\"ieee_double\" count=\"2\"/>"
	"<vector id=\"v16i8\" type=\"int8\" count=\"16\"/>"
	"<vector id=\"v8i16\" type=\"int16\" count=\"8\"/>"
	"<vector id=\"v4i32\" type=\"int32\" count=\"4\"/>"
	"<vector id=\"v2i64\" type=\"int64\" count=\"2\"/>"
	"<union id=\"vec128\">"
	"<field name=\"v8_bfloat16\" type=\"v8bf16\"/>"
	"<field name=\"v4_float\" type=\"v4f\"/><field name=\"v2_double\" type=\"v2d\"/>"
	"<field name=\"v16_int8\" type=\"v16i8\"/><field name=\"v8_int16\" type=\"v8i16\"/>"
	"<field name=\"v4_int32\" type=\"v4i32\"/><field name=\"v2_int64\" type=\"v2i64\"/>"
	"<field name=\"uint128\" type=\"uint128\"/>"
	"</union>"
	"<flags id=\"i386_mxcsr\" size=\"4\">"
	"<field name=\"IE\" start=\"0\" end=\"0\"/><field name=\"DE\" start=\"1\" end=\"1\"/>"
	"<field name=\"ZE\" start=\"2\" end=\"2\"/><field name=\"OE\" start=\"3\" end=\"3\"/>"
	"<field name=\"UE\" start=\"4\" end=\"4\"/><field name=\"PE\" start=\"5\" end=\"5\"/>"
	"<field name=\"DAZ\" start=\"6\" end=\"6\"/><field name=\"IM\" start=\"7\" end=\"7\"/>"
	"<field name=\"DM\" start=\"8\" end=\"8\"/><field name=\"ZM\" start=\"9\" end=\"9\"/>"
	"<field name=\"OM\" start=\"10\" end=\"10\"/><field name=\"UM\" start=\"11\" end=\"11\"/>"
	"<field name=\"PM\" start=\"12\" end=\"12\"/><field name=\"FZ\" start=\"15\" end=\"15\"/>"
	"</flags>"
	XMM("xmm0") XMM("xmm1") XMM("xmm2") XMM("xmm3") XMM("xmm4") XMM("xmm5") XMM("xmm6")
	XMM("xmm7") XMM("xmm8") XMM("xmm9") XMM("xmm10") XMM("xmm11") XMM("xmm12")
	XMM("xmm13") XMM("xmm14") XMM("xmm15")
	"<reg name=\"mxcsr\" bitsize=\"32\" type=\"i386_mxcsr\" group=\"vector\"/>"
	"</feature>"
	"<feature name=\"org.gnu.gdb.i386.segments\">"
	GPR("fs_base", "int") GPR("gs_base", "int")
	"</feature>"
	/* Not a GDB-defined feature: GDB shows its registers as they are ($cr3 ...). */
	"<feature name=\"org.vmscope.x86-64.system\">"
	"<flags id=\"x86_cr0\" size=\"8\">"
	"<field name=\"PE\" start=\"0\" end=\"0\"/><field name=\"MP\" start=\"1\" end=\"1\"/>"
	"<field name=\"EM\" start=\"2\" end=\"2\"/><field name=\"TS\" start=\"3\" end=\"3\"/>"
	"<field name=\"ET\" start=\"4\" end=\"4\"/><field name=\"NE\" start=\"5\" end=\"5\"/>"
	"<field name=\"WP\" start=\"16\" end=\"16\"/><field name=\"AM\" start=\"18\" end=\"18\"/>"
	"<field name=\"NW\" start=\"29\" end=\"29\"/><field name=\"CD\" start=\"30\" end=\"30\"/>"
	"<field name=\"PG\" start=\"31\" end=\"31\"/>"
	"</flags>"
	"<flags id=\"x86_cr4\" size=\"8\">"
	"<field name=\"VME\" start=\"0\" end=\"0\"/><field name=\"PVI\" start=\"1\" end=\"1\"/>"
	"<field name=\"TSD\" start=\"2\" end=\"2\"/><field name=\"DE\" start=\"3\" end=\"3\"/>"
	"<field name=\"PSE\" start=\"4\" end=\"4\"/><field name=\"PAE\" start=\"5\" end=\"5\"/>"
	"<field name=\"MCE\" start=\"6\" end=\"6\"/><field name=\"PGE\" start=\"7\" end=\"7\"/>"
	"<field name=\"PCE\" start=\"8\" end=\"8\"/><field name=\"OSFXSR\" start=\"9\" end=\"9\"/>"
	"<field name=\"OSXMMEXCPT\" start=\"10\" end=\"10\"/>"
	"<field name=\"UMIP\" start=\"11\" end=\"11\"/><field name=\"LA57\" start=\"12\" end=\"12\"/>"
	"<field name=\"FSGSBASE\" start=\"16\" end=\"16\"/><field name=\"PCIDE\" start=\"17\" end=\"17\"/>"
	"<field name=\"OSXSAVE\" start=\"18\" end=\"18\"/><field name=\"SMEP\" start=\"20\" end=\"20\"/>"
	"<field name=\"SMAP\" start=\"21\" end=\"21\"/><field name=\"PKE\" start=\"22\" end=\"22\"/>"
	"</flags>"
	"<flags id=\"x86_efer\" size=\"8\">"
	"<field name=\"SCE\" start=\"0\" end=\"0\"/><field name=\"LME\" start=\"8\" end=\"8\"/>"
	"<field name=\"LMA\" start=\"10\" end=\"10\"/><field name=\"NXE\" start=\"11\" end=\"11\"/>"
	"<field name=\"SVME\" start=\"12\" end=\"12\"/><field name=\"LMSLE\" start=\"13\" end=\"13\"/>"
	"<field name=\"FFXSR\" start=\"14\" end=\"14\"/><field name=\"TCE\" start=\"15\" end=\"15\"/>"
	"</flags>"
	"<reg name=\"k_gs_base\" bitsize=\"64\" type=\"int\" group=\"system\"/>"
	"<reg name=\"cr0\" bitsize=\"64\" type=\"x86_cr0\" group=\"system\"/>"
	"<reg name=\"cr2\" bitsize=\"64\" type=\"int\" group=\"system\"/>"
	"<reg name=\"cr3\" bitsize=\"64\" type=\"int\" group=\"system\"/>"
	"<reg name=\"cr4\" bitsize=\"64\" type=\"x86_cr4\" group=\"system\"/>"
	"<reg name=\"cr8\" bitsize=\"64\" type=\"int\" group=\"system\"/>"
	"<reg name=\"efer\" bitsize=\"64\" type=\"x86_efer\" group=\"system\"/>"
	"</feature>"
	"</target>";
