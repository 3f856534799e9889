/* rv64m: multiply and divide, including the W forms, division by zero and overflow. */
#include "rt.h"

#define RR(op, a, b) ({ u64 _r; asm volatile(op " %0, %1, %2" : "=r"(_r) : "r"((u64)(a)), "r"((u64)(b))); _r; })
#define MIN64 0x8000000000000000ull
#define MAX64 0x7fffffffffffffffull
#define ALL1  0xffffffffffffffffull

int main(void)
{
    println("rv64m: multiply/divide");
    CHECKEQ(1, RR("mul", 3, -5ull), (u64)-15);
    CHECKEQ(2, RR("mul", MAX64, 2), 0xfffffffffffffffeull);
    CHECKEQ(3, RR("mul", 0x100000001ull, 0x100000001ull), 0x200000001ull);
    CHECKEQ(4, RR("mulh", ALL1, ALL1), 0);                 /* (-1)(-1) = 1 */
    CHECKEQ(5, RR("mulh", MIN64, MIN64), 0x4000000000000000ull);
    CHECKEQ(6, RR("mulh", -2ull, 3), ALL1);                /* -6 */
    CHECKEQ(7, RR("mulh", MAX64, MAX64), 0x3fffffffffffffffull);
    CHECKEQ(8, RR("mulhu", ALL1, ALL1), 0xfffffffffffffffeull);
    CHECKEQ(9, RR("mulhu", 0x100000000ull, 0x100000000ull), 1);
    CHECKEQ(10, RR("mulhsu", ALL1, ALL1), ALL1);           /* -1 * (2^64-1) */
    CHECKEQ(11, RR("mulhsu", 2, MIN64), 1);                /* 2 * 2^63 = 2^64 */
    CHECKEQ(12, RR("mulhsu", -2ull, MIN64), ALL1);         /* -2^64 */
    CHECKEQ(13, RR("mulhsu", MIN64, ALL1), 0x8000000000000000ull); /* -2^63*(2^64-1) */
    ok("mul/mulh/mulhu/mulhsu");
    CHECKEQ(14, RR("mulw", 0x7fffffff, 2), 0xfffffffffffffffeull);
    CHECKEQ(15, RR("mulw", 0x100000003ull, 5), 15);
    CHECKEQ(16, RR("mulw", 0x10000, 0x8000), 0xffffffff80000000ull);
    ok("mulw");

    CHECKEQ(17, RR("div", -7ull, 2), (u64)-3);             /* rounds toward zero */
    CHECKEQ(18, RR("rem", -7ull, 2), ALL1);                /* sign of dividend */
    CHECKEQ(19, RR("rem", 7, -2ull), 1);
    CHECKEQ(20, RR("div", 7, -2ull), (u64)-3);
    CHECKEQ(21, RR("divu", 7, 2), 3);
    CHECKEQ(22, RR("divu", ALL1, 2), MAX64);
    CHECKEQ(23, RR("remu", ALL1, 10), 5);
    CHECKEQ(24, RR("div", 1234, 0), ALL1);                 /* by zero */
    CHECKEQ(25, RR("divu", 1234, 0), ALL1);
    CHECKEQ(26, RR("rem", -1234ull, 0), (u64)-1234);
    CHECKEQ(27, RR("remu", 1234, 0), 1234);
    CHECKEQ(28, RR("div", MIN64, ALL1), MIN64);            /* overflow */
    CHECKEQ(29, RR("rem", MIN64, ALL1), 0);
    ok("div/divu/rem/remu incl. zero and overflow");

    CHECKEQ(30, RR("divw", 0x80000000ull, ALL1), 0xffffffff80000000ull);
    CHECKEQ(31, RR("remw", 0x80000000ull, ALL1), 0);
    CHECKEQ(32, RR("divw", 5, 0), ALL1);
    CHECKEQ(33, RR("remw", 0x1fffffff9ull, 0), (u64)-7);   /* low word 0xfffffff9 */
    CHECKEQ(34, RR("divw", 0x100000010ull, 4), 4);
    CHECKEQ(35, RR("remw", -7ull, 2), ALL1);
    CHECKEQ(36, RR("divuw", 0xffffffffull, 1), ALL1);      /* 32-bit result sign-extended */
    CHECKEQ(37, RR("divuw", 0x80000000ull, 2), 0x40000000);
    CHECKEQ(38, RR("divuw", 9, 0), ALL1);
    CHECKEQ(39, RR("remuw", 0xffffffffull, 0), ALL1);
    CHECKEQ(40, RR("remuw", 0x123456789ull, 0x10), 9);
    CHECKEQ(41, RR("divuw", 0xfffffffe00000006ull, 4), 1);
    ok("divw/divuw/remw/remuw");
    return 0;
}
