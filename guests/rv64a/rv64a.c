/* rv64a: LR/SC reservations and every AMO in .w and .d forms. */
#include "rt.h"

static u64 mem[4] __attribute__((aligned(16)));

#define AMO(op, addr, v) ({ u64 _r; asm volatile(op " %0, %2, (%1)" : "=&r"(_r) : "r"(addr), "r"((u64)(v)) : "memory"); _r; })
#define ALL1 0xffffffffffffffffull

static void setw(u64 lo) { mem[0] = 0xa5a5a5a500000000ull | (u32)lo; mem[1] = 0x1111111111111111ull; }

int main(void)
{
    u64 r, s;
    println("rv64a: atomics");

    /* lr/sc */
    mem[0] = 0x80000000ull;
    asm volatile("lr.w %0, (%2)\n\tsc.w %1, %3, (%2)" : "=&r"(r), "=&r"(s) : "r"(mem), "r"(0x1234ull) : "memory");
    CHECKEQ(1, r, 0xffffffff80000000ull);               /* lr.w sign-extends */
    CHECKEQ(2, s, 0);
    CHECKEQ(3, mem[0], 0x1234);
    asm volatile("sc.w %0, %2, (%1)" : "=&r"(s) : "r"(mem), "r"(0x5678ull) : "memory");
    CHECK(4, s != 0);                                   /* reservation consumed by the sc */
    CHECKEQ(5, mem[0], 0x1234);
    asm volatile("lr.d %0, (%2)\n\tsc.d %1, %3, (%2)" : "=&r"(r), "=&r"(s) : "r"(mem), "r"(0x8877665544332211ull) : "memory");
    CHECKEQ(6, r, 0x1234);
    CHECKEQ(7, s, 0);
    CHECKEQ(8, mem[0], 0x8877665544332211ull);
    asm volatile("sc.d %0, %2, (%1)" : "=&r"(s) : "r"(mem), "r"(0ull) : "memory");
    CHECK(9, s != 0);
    CHECKEQ(10, mem[0], 0x8877665544332211ull);
    /* a successful lr/sc retry loop */
    mem[2] = 41;
    asm volatile("1: lr.d %0, (%1)\n\taddi %0, %0, 1\n\tsc.d t0, %0, (%1)\n\tbnez t0, 1b"
                 : "=&r"(r) : "r"(&mem[2]) : "t0", "memory");
    CHECKEQ(11, mem[2], 42);
    /* no reservation is held here (the last sc consumed it): sc.w must fail */
    asm volatile("sc.w %0, %2, (%1)" : "=&r"(s) : "r"(&mem[3]), "r"(7ull) : "memory");
    CHECK(12, s != 0);
    CHECKEQ(13, mem[3], 0);
    ok("lr/sc");

    /* AMO .w: returns the old word sign-extended, upper word untouched */
    setw(0x7fffffff);
    CHECKEQ(20, AMO("amoadd.w", mem, 1), 0x7fffffff);
    CHECKEQ(21, mem[0], 0xa5a5a5a580000000ull);
    CHECKEQ(22, AMO("amoswap.w", mem, 0x12345678), 0xffffffff80000000ull);
    CHECKEQ(23, mem[0], 0xa5a5a5a512345678ull);
    setw(0xf0f0f0f0);
    CHECKEQ(24, AMO("amoxor.w", mem, 0xff00ff00), 0xfffffffff0f0f0f0ull);
    CHECKEQ(25, mem[0], 0xa5a5a5a50ff00ff0ull);
    CHECKEQ(26, AMO("amoand.w", mem, 0x0000ffff), 0x0ff00ff0);
    CHECKEQ(27, mem[0], 0xa5a5a5a500000ff0ull);
    CHECKEQ(28, AMO("amoor.w", mem, 0x80000001), 0x0ff0);
    CHECKEQ(29, mem[0], 0xa5a5a5a580000ff1ull);
    setw(0xffffffff);                                   /* -1 */
    CHECKEQ(30, AMO("amomin.w", mem, 1), ALL1);
    CHECKEQ(31, mem[0], 0xa5a5a5a5ffffffffull);         /* -1 < 1 */
    CHECKEQ(32, AMO("amominu.w", mem, 1), ALL1);
    CHECKEQ(33, mem[0], 0xa5a5a5a500000001ull);         /* 1 < 0xffffffff */
    CHECKEQ(34, AMO("amomax.w", mem, 0x80000000), 1);
    CHECKEQ(35, mem[0], 0xa5a5a5a500000001ull);         /* 1 > INT_MIN */
    CHECKEQ(36, AMO("amomaxu.w", mem, 0x80000000), 1);
    CHECKEQ(37, mem[0], 0xa5a5a5a580000000ull);
    CHECKEQ(38, AMO("amomin.w", mem, 0x7fffffff00000005ull), 0xffffffff80000000ull); /* rs2 upper ignored */
    CHECKEQ(39, mem[0], 0xa5a5a5a580000000ull);
    CHECKEQ(40, mem[1], 0x1111111111111111ull);
    ok("amo*.w");

    /* AMO .d */
    mem[0] = 0x7fffffffffffffffull;
    CHECKEQ(50, AMO("amoadd.d", mem, 1), 0x7fffffffffffffffull);
    CHECKEQ(51, mem[0], 0x8000000000000000ull);
    CHECKEQ(52, AMO("amoswap.d", mem, 0x0123456789abcdefull), 0x8000000000000000ull);
    CHECKEQ(53, mem[0], 0x0123456789abcdefull);
    CHECKEQ(54, AMO("amoxor.d", mem, ALL1), 0x0123456789abcdefull);
    CHECKEQ(55, mem[0], 0xfedcba9876543210ull);
    CHECKEQ(56, AMO("amoand.d", mem, 0xffff0000ffff0000ull), 0xfedcba9876543210ull);
    CHECKEQ(57, mem[0], 0xfedc000076540000ull);
    CHECKEQ(58, AMO("amoor.d", mem, 0xffull), 0xfedc000076540000ull);
    CHECKEQ(59, mem[0], 0xfedc0000765400ffull);
    mem[0] = ALL1;
    CHECKEQ(60, AMO("amomin.d", mem, 1), ALL1);
    CHECKEQ(61, mem[0], ALL1);
    CHECKEQ(62, AMO("amominu.d", mem, 1), ALL1);
    CHECKEQ(63, mem[0], 1);
    CHECKEQ(64, AMO("amomax.d", mem, 0x8000000000000000ull), 1);
    CHECKEQ(65, mem[0], 1);
    CHECKEQ(66, AMO("amomaxu.d", mem, 0x8000000000000000ull), 1);
    CHECKEQ(67, mem[0], 0x8000000000000000ull);
    CHECKEQ(68, AMO("amomax.d", mem, 0), 0x8000000000000000ull);
    CHECKEQ(69, mem[0], 0);
    /* rd = x0 form and .aqrl variants */
    mem[1] = 5;
    asm volatile("amoadd.d.aqrl x0, %1, (%0)" :: "r"(&mem[1]), "r"(10ull) : "memory");
    CHECKEQ(70, mem[1], 15);
    CHECKEQ(71, AMO("amoswap.w.aq", &mem[1], 3), 15);
    CHECKEQ(72, mem[1], 3);
    ok("amo*.d");
    return 0;
}
