/* rvc driver: runs the compressed-instruction checks in rvc.S. */
#include "rt.h"

extern u64 rvc_test(void);

int main(void)
{
    println("rvc: every RV64C instruction");
    u64 r = rvc_test();
    if (r) {
        puts_("rvc check ");
        putdec(r);
        println(" failed");
        return (int)r;
    }
    ok("c.* arithmetic, loads/stores, sp forms, jumps and branches, c.ebreak");
    return 0;
}
