/* rv64i: every RV64I instruction class plus Zicsr/Zifencei basics, with hand-computed
 * expected values.  Built without the C extension so no compressed instruction appears. */
#include "rt.h"

#define RR(op, a, b) ({ u64 _r; asm volatile(op " %0, %1, %2" : "=r"(_r) : "r"((u64)(a)), "r"((u64)(b))); _r; })
#define RI(op, a, imm) ({ u64 _r; asm volatile(op " %0, %1, %2" : "=r"(_r) : "r"((u64)(a)), "i"(imm)); _r; })
#define BR(op, a, b) ({ u64 _t; asm volatile("li %0, 1\n\t" op " %1, %2, 1f\n\tli %0, 0\n1:" \
    : "=&r"(_t) : "r"((u64)(a)), "r"((u64)(b))); _t; })
#define LD(op, addr, off) ({ u64 _r; asm volatile(op " %0, %2(%1)" : "=r"(_r) : "r"(addr), "i"(off) : "memory"); _r; })
#define ST(op, v, addr, off) asm volatile(op " %0, %2(%1)" :: "r"((u64)(v)), "r"(addr), "i"(off) : "memory")

#define MIN64 0x8000000000000000ull
#define MAX64 0x7fffffffffffffffull

static u64 buf[4] __attribute__((aligned(16)));
static const u64 auipc_ref_addr;

static void arith(void)
{
    CHECKEQ(1, RR("add", 3, 4), 7);
    CHECKEQ(2, RR("add", MAX64, 1), MIN64);
    CHECKEQ(3, RR("add", -1ull, 1), 0);
    CHECKEQ(4, RR("sub", 0, 1), 0xffffffffffffffffull);
    CHECKEQ(5, RR("sub", MIN64, 1), MAX64);
    CHECKEQ(6, RI("addi", 5, -2048), (u64)(5 - 2048));
    CHECKEQ(7, RI("addi", 0, 2047), 2047);
    CHECKEQ(8, RI("addi", 0x123456789abcdef0ull, -1), 0x123456789abcdeefull);
    /* W forms: 32-bit result sign-extended, upper input bits ignored */
    CHECKEQ(9, RR("addw", 0x7fffffff, 1), 0xffffffff80000000ull);
    CHECKEQ(10, RR("addw", 0x123456789ull, 0), 0x23456789);
    CHECKEQ(11, RI("addiw", 0xffffffffull, 0), 0xffffffffffffffffull);
    CHECKEQ(12, RI("addiw", 0xaaaaaaaa7ffffffeull, 1), 0x7fffffff);
    CHECKEQ(13, RR("subw", 0, 0x80000000ull), 0xffffffff80000000ull);
    CHECKEQ(14, RR("subw", 0x100000005ull, 0x200000007ull), 0xfffffffffffffffeull);
    ok("add/sub/addi and W forms");

    CHECKEQ(15, RR("and", 0xff00ff00ff00ff00ull, 0x0ff00ff00ff00ff0ull), 0x0f000f000f000f00ull);
    CHECKEQ(16, RR("or", 0xff00ff00ff00ff00ull, 0x0ff00ff00ff00ff0ull), 0xfff0fff0fff0fff0ull);
    CHECKEQ(17, RR("xor", 0xff00ff00ff00ff00ull, 0x0ff00ff00ff00ff0ull), 0xf0f0f0f0f0f0f0f0ull);
    CHECKEQ(18, RI("andi", 0x123456789abcdef0ull, -16), 0x123456789abcdef0ull);
    CHECKEQ(19, RI("andi", 0x123456789abcdef0ull, 0x7f0), 0x6f0);
    CHECKEQ(20, RI("ori", 0x1000, -2048), 0xfffffffffffff800ull);
    CHECKEQ(21, RI("xori", 0x0f0f, -1), 0xfffffffffffff0f0ull);
    CHECKEQ(22, RI("xori", 0x0f0f, 0x0ff), 0x0ff0);
    ok("logic");

    CHECKEQ(23, RR("sll", 1, 63), MIN64);
    CHECKEQ(24, RR("sll", 3, 64 + 1), 6);               /* amount is rs2[5:0] */
    CHECKEQ(25, RR("srl", MIN64, 63), 1);
    CHECKEQ(26, RR("sra", MIN64, 63), 0xffffffffffffffffull);
    CHECKEQ(27, RR("sra", 0x4000000000000000ull, 0xc0 | 62), 1);
    CHECKEQ(28, RI("slli", 0xf, 60), 0xf000000000000000ull);
    CHECKEQ(29, RI("srli", 0xf000000000000000ull, 63), 1);
    CHECKEQ(30, RI("srai", 0xf000000000000000ull, 60), 0xffffffffffffffffull);
    CHECKEQ(31, RI("srai", 0x7000000000000000ull, 60), 7);
    CHECKEQ(32, RR("sllw", 1, 31), 0xffffffff80000000ull);
    CHECKEQ(33, RR("sllw", 0x123456789ull, 32), 0x23456789);   /* amount is rs2[4:0] */
    CHECKEQ(34, RR("srlw", 0xffffffff80000000ull, 31), 1);
    CHECKEQ(35, RR("srlw", 0x80000000ull, 0), 0xffffffff80000000ull);
    CHECKEQ(36, RR("sraw", 0x80000000ull, 31), 0xffffffffffffffffull);
    CHECKEQ(37, RR("sraw", 0xffffffff7fffffffull, 30), 1);
    CHECKEQ(38, RI("slliw", 3, 31), 0xffffffff80000000ull);
    CHECKEQ(39, RI("srliw", 0xfffffffffffffff0ull, 4), 0x0fffffff);
    CHECKEQ(40, RI("sraiw", 0x00000000f0000000ull, 28), 0xffffffffffffffffull);
    CHECKEQ(41, RI("sraiw", 0xffffffff70000000ull, 28), 7);
    ok("shifts");

    CHECKEQ(42, RR("slt", -1ull, 1), 1);
    CHECKEQ(43, RR("slt", 1, -1ull), 0);
    CHECKEQ(44, RR("sltu", -1ull, 1), 0);
    CHECKEQ(45, RR("sltu", 1, -1ull), 1);
    CHECKEQ(46, RR("slt", 5, 5), 0);
    CHECKEQ(47, RI("slti", MIN64, 0), 1);
    CHECKEQ(48, RI("slti", 0, -1), 0);
    CHECKEQ(49, RI("sltiu", 0, 1), 1);                   /* seqz */
    CHECKEQ(50, RI("sltiu", 5, 1), 0);
    CHECKEQ(51, RI("sltiu", 0xfffffffffffffff0ull, -1), 1); /* imm sign-extends, then unsigned */
    CHECKEQ(52, RR("sltu", 0, 3), 1);                     /* snez */
    ok("slt/sltu/slti/sltiu");
}

static void upper(void)
{
    u64 r;
    asm volatile("lui %0, 0x80000" : "=r"(r));
    CHECKEQ(53, r, 0xffffffff80000000ull);
    asm volatile("lui %0, 0x7ffff" : "=r"(r));
    CHECKEQ(54, r, 0x7ffff000);
    asm volatile("lui %0, 0xfffff" : "=r"(r));
    CHECKEQ(55, r, 0xfffffffffffff000ull);
    /* auipc: compare with the link-time absolute address of the same instruction */
    u64 ref;
    asm volatile(".pushsection .rodata\n\t.align 3\nauipc_ref_tab: .dword 1f\n\t.popsection\n"
                 "1: auipc %0, 0\n\t"
                 "la %1, auipc_ref_tab\n\t"
                 "ld %1, 0(%1)" : "=r"(r), "=r"(ref));
    CHECKEQ(56, r, ref);
    asm volatile(".pushsection .rodata\n\t.align 3\nauipc_ref_tab2: .dword 1f\n\t.popsection\n"
                 "1: auipc %0, 0x80000\n\t"
                 "la %1, auipc_ref_tab2\n\t"
                 "ld %1, 0(%1)" : "=r"(r), "=r"(ref));
    CHECKEQ(57, r, ref - 0x80000000ull);
    asm volatile(".pushsection .rodata\n\t.align 3\nauipc_ref_tab3: .dword 1f\n\t.popsection\n"
                 "1: auipc %0, 1\n\t"
                 "la %1, auipc_ref_tab3\n\t"
                 "ld %1, 0(%1)" : "=r"(r), "=r"(ref));
    CHECKEQ(58, r, ref + 0x1000);
    /* writes to x0 are discarded */
    asm volatile("li t0, 123\n\tadd x0, t0, t0\n\tlui x0, 5\n\tmv %0, x0" : "=r"(r) :: "t0");
    CHECKEQ(59, r, 0);
    ok("lui/auipc/x0");
}

static void loads_stores(void)
{
    u8 *b = (u8 *)buf;
    buf[0] = 0x8182838485868788ull;
    buf[1] = 0x7172737475767778ull;
    buf[2] = 0;
    buf[3] = 0;
    CHECKEQ(60, LD("lb", b, 0), 0xffffffffffffff88ull);
    CHECKEQ(61, LD("lbu", b, 0), 0x88);
    CHECKEQ(62, LD("lb", b, 8), 0x78);
    CHECKEQ(63, LD("lh", b, 6), 0xffffffffffff8182ull);
    CHECKEQ(64, LD("lhu", b, 6), 0x8182);
    CHECKEQ(65, LD("lh", b, 14), 0x7172);
    CHECKEQ(66, LD("lw", b, 4), 0xffffffff81828384ull);
    CHECKEQ(67, LD("lwu", b, 4), 0x81828384ull);
    CHECKEQ(68, LD("lw", b, 12), 0x71727374);
    CHECKEQ(69, LD("ld", b, 0), 0x8182838485868788ull);
    CHECKEQ(70, LD("ld", b + 16, -8), 0x7172737475767778ull);   /* negative offset */
    CHECKEQ(71, LD("lbu", b + 16, -1), 0x71);
    ok("loads");
    ST("sb", 0x1122334455667799ull, b, 16);
    CHECKEQ(72, buf[2], 0x99);
    ST("sh", 0xaabbccddeeff0102ull, b, 18);
    CHECKEQ(73, buf[2], 0x01020099ull);
    ST("sw", 0xdeadbeefcafef00dull, b, 20);
    CHECKEQ(74, buf[2], 0xcafef00d01020099ull);
    ST("sd", 0x0123456789abcdefull, b, 24);
    CHECKEQ(75, buf[3], 0x0123456789abcdefull);
    ST("sb", 0xff, b + 32, -1);
    CHECKEQ(76, buf[3], 0xff23456789abcdefull);
    CHECKEQ(77, buf[1], 0x7172737475767778ull);     /* neighbours untouched */
    ok("stores");
}

static void branches(void)
{
    CHECKEQ(78, BR("beq", 5, 5), 1);
    CHECKEQ(79, BR("beq", 5, 6), 0);
    CHECKEQ(80, BR("bne", 5, 6), 1);
    CHECKEQ(81, BR("bne", 5, 5), 0);
    CHECKEQ(82, BR("blt", -1ull, 1), 1);
    CHECKEQ(83, BR("blt", 1, -1ull), 0);
    CHECKEQ(84, BR("blt", 3, 3), 0);
    CHECKEQ(85, BR("bge", 3, 3), 1);
    CHECKEQ(86, BR("bge", -1ull, 1), 0);
    CHECKEQ(87, BR("bge", 1, -1ull), 1);
    CHECKEQ(88, BR("bltu", 1, -1ull), 1);
    CHECKEQ(89, BR("bltu", -1ull, 1), 0);
    CHECKEQ(90, BR("bltu", 7, 7), 0);
    CHECKEQ(91, BR("bgeu", -1ull, 1), 1);
    CHECKEQ(92, BR("bgeu", 1, -1ull), 0);
    CHECKEQ(93, BR("bgeu", 7, 7), 1);
    /* backward branch loop */
    u64 n;
    asm volatile("li %0, 0\n\tli t0, 10\n1:\taddi %0, %0, 3\n\taddi t0, t0, -1\n\tbnez t0, 1b"
                 : "=&r"(n) :: "t0");
    CHECKEQ(94, n, 30);
    ok("branches");
}

static void jumps(void)
{
    u64 link, target, r;
    /* jal: rd = pc + 4 */
    asm volatile(".pushsection .rodata\n\t.align 3\njal_tab: .dword 1f, 2f\n\t.popsection\n"
                 "1: jal %0, 2f\n\t"
                 "li %0, 0\n"                          /* skipped */
                 "2: la %1, jal_tab\n\t"
                 "ld %1, 0(%1)" : "=&r"(link), "=&r"(target));
    CHECKEQ(95, link, target + 4);
    /* jalr with an odd target: bit 0 is cleared */
    asm volatile("la t0, 1f\n\t"
                 "addi t0, t0, 1\n\t"
                 "li %0, 0\n\t"
                 "jalr t1, 0(t0)\n\t"
                 "li %0, 99\n\t"                       /* skipped */
                 "1: addi %0, %0, 7" : "=&r"(r) :: "t0", "t1");
    CHECKEQ(96, r, 7);
    /* jalr with offset and rd == rs1: the target uses the old rs1 */
    asm volatile("la %0, 1f\n\t"
                 "addi %0, %0, -8\n\t"
                 "jalr %0, 8(%0)\n\t"
                 "2: nop\n\t"
                 "nop\n"
                 "1: la %1, 2b" : "=&r"(link), "=&r"(target));
    CHECKEQ(97, link, target);
    /* call/ret through a real function */
    asm volatile("jal ra, 3f\n\t"
                 "j 4f\n"
                 "3: li %0, 42\n\t"
                 "jalr x0, 0(ra)\n"
                 "4:" : "=&r"(r) :: "ra");
    CHECKEQ(98, r, 42);
    ok("jal/jalr");
}

static void zicsr(void)
{
    u64 old, v;
    csr_write(mscratch, 0x1234);
    asm volatile("csrrw %0, mscratch, %1" : "=r"(old) : "r"(0xf0f0ull));
    CHECKEQ(99, old, 0x1234);
    asm volatile("csrrs %0, mscratch, %1" : "=r"(old) : "r"(0x000full));
    CHECKEQ(100, old, 0xf0f0);
    asm volatile("csrrc %0, mscratch, %1" : "=r"(old) : "r"(0x00f0ull));
    CHECKEQ(101, old, 0xf0ff);
    asm volatile("csrrwi %0, mscratch, 0x1f" : "=r"(old));
    CHECKEQ(102, old, 0xf00f);
    asm volatile("csrrsi %0, mscratch, 0x0" : "=r"(old));   /* read only */
    CHECKEQ(103, old, 0x1f);
    asm volatile("csrrci %0, mscratch, 0x3" : "=r"(old));
    CHECKEQ(104, old, 0x1f);
    v = csr_read(mscratch);
    CHECKEQ(105, v, 0x1c);
    /* restore this hart's trap stack pointer */
    extern char __mtrap_stack_top[];
    csr_write(mscratch, (u64)__mtrap_stack_top);
    CHECKEQ(106, csr_read(mhartid), 0);
    CHECKEQ(107, csr_read(misa) >> 62, 2);                /* MXL = 64 */
    CHECKEQ(108, csr_read(misa) & 0x112d, 0x112d);        /* I M A F D C present (C unused here) */
    asm volatile("fence\n\tfence rw, rw\n\tfence.i" ::: "memory");
    ok("csr/fence");
}

/* self-modifying code: fence.i makes a rewritten instruction visible */
static u32 smc_code[2] __attribute__((aligned(8), section(".data")));

static void fencei(void)
{
    smc_code[0] = 0x00500513;   /* addi a0, zero, 5 */
    smc_code[1] = 0x00008067;   /* ret */
    asm volatile("fence.i" ::: "memory");
    u64 (*fn)(void) = (u64 (*)(void))(uintptr_t)smc_code;
    CHECKEQ(109, fn(), 5);
    smc_code[0] = 0x00900513;   /* addi a0, zero, 9 */
    asm volatile("fence.i" ::: "memory");
    CHECKEQ(110, fn(), 9);
    ok("fence.i self-modifying code");
}

int main(void)
{
    println("rv64i: RV64I base instructions");
    arith();
    upper();
    loads_stores();
    branches();
    jumps();
    zicsr();
    fencei();
    (void)auipc_ref_addr;
    return 0;
}
