/* vkernel: S-mode start.  M-mode (machine.c) drops here with paging off. */
#include "vkernel.h"

/* vkernel.features=version1|xv6 on the kernel command line picks the feature negotiation */
static enum disk_feature_mode parse_bootargs(const char *args)
{
    enum disk_feature_mode mode = FEATURES_VERSION_1;
    const char *key = "vkernel.features=";
    for (const char *p = args; *p;) {
        while (*p == ' ') p++;
        if (strncmp_prefix(p, key)) {
            const char *value = p + 17;
            if (strncmp_prefix(value, "xv6") && (value[3] == ' ' || value[3] == 0))
                mode = FEATURES_XV6;
            else if (strncmp_prefix(value, "version1") && (value[8] == ' ' || value[8] == 0))
                mode = FEATURES_VERSION_1;
            else
                kprintf("vkernel: unknown vkernel.features value; using version1\n");
        }
        while (*p && *p != ' ') p++;
    }
    return mode;
}

void kmain(u64 hartid, u64 dtb)
{
    kprintf("vkernel: hart %u in S-mode; M-mode forwards its timer as SSIP every %u ticks\n",
            hartid, (u64)TIMER_INTERVAL);

    /* the device tree is read before paging: the kernel map does not cover it */
    static char bootargs[128];
    int have_args = fdt_chosen_bootargs(dtb, bootargs, sizeof bootargs);
    if (have_args) kprintf("vkernel: command line '%s'\n", bootargs);
    enum disk_feature_mode mode = parse_bootargs(bootargs);

    pages_init();
    kernel_map_init();
    csr_write(satp, kernel_satp);
    sfence_vma();
    kprintf("vkernel: Sv39 paging on; user program %u KiB at 0x%x; %u pages free\n",
            (u64)(__user_data_end - __user_text_start) / 1024, (u64)__user_text_start,
            pages_free());

    csr_write(stvec, kernel_trap_vector);
    csr_write(sie, (1 << IRQ_S_SOFTWARE) | (1 << IRQ_S_EXTERNAL));
    disk_probe_and_init(mode);

    procs_init();
    free_pages_at_start = pages_free();
    if (!proc_create("init", 0, 0, 0)) panic("cannot create init");
    scheduler();
}
