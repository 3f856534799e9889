/* vkernel: physical pages and Sv39 page tables.
 *
 * The kernel map is an identity map (virtual = physical) of the kernel image, the page pool
 * and the devices, built from 4 KiB pages with A and D left clear: the hardware sets them on
 * first use (QEMU does; kernels like this one depend on it).  Every process gets a root table
 * of its own whose entries 0 and 2 point at the kernel's shared tables and whose entry 1
 * (0x4000_0000..0x7fff_ffff) holds the process: the user program's code and constants
 * (shared, read-only), a private copy of its data, and a stack. */
#include "vkernel.h"

#define POOL_PAGES 512                  /* 2 MiB of page tables and process memory */

struct free_page { struct free_page *next; };
static struct free_page *free_list;
static u64 free_count;
static u64 pool_start, pool_end;

void pages_init(void)
{
    pool_start = PAGE_ROUND_UP((u64)__user_image_end);
    pool_end = pool_start + POOL_PAGES * PAGE_SIZE;
    for (u64 a = pool_end; a > pool_start; a -= PAGE_SIZE) {
        struct free_page *page = (struct free_page *)(a - PAGE_SIZE);
        page->next = free_list;
        free_list = page;
        free_count++;
    }
}

void *page_alloc(void)
{
    struct free_page *page = free_list;
    if (!page) return 0;
    free_list = page->next;
    free_count--;
    memset(page, 0, PAGE_SIZE);
    return page;
}

void page_free(void *page)
{
    u64 a = (u64)page;
    if (a % PAGE_SIZE || a < pool_start || a >= pool_end) panic("page_free: not a pool page");
    memset(page, 0x5a, PAGE_SIZE);      /* use after free shows as 0x5a5a... */
    struct free_page *p = page;
    p->next = free_list;
    free_list = p;
    free_count++;
}

u64 pages_free(void) { return free_count; }

static u64 pte_address(pte_t pte) { return (pte >> 10) << 12; }
static pte_t address_pte(u64 pa) { return (pa >> 12) << 10; }
static int pte_is_leaf(pte_t pte) { return (pte & (PTE_R | PTE_W | PTE_X)) != 0; }

/* The level-0 entry for va, allocating the tables on the way when create is set; 0 if it
 * does not exist (or a superpage is in the way: this kernel maps none). */
static pte_t *walk(page_table_t root, u64 va, int create)
{
    page_table_t table = root;
    for (int level = 2; level > 0; level--) {
        pte_t *entry = &table[(va >> (12 + 9 * level)) & 511];
        if (*entry & PTE_V) {
            if (pte_is_leaf(*entry)) return 0;
        } else {
            if (!create) return 0;
            page_table_t next = page_alloc();
            if (!next) return 0;
            *entry = address_pte((u64)next) | PTE_V;
        }
        table = (page_table_t)pte_address(*entry);
    }
    return &table[(va >> 12) & 511];
}

static int map_page(page_table_t root, u64 va, u64 pa, u64 flags)
{
    pte_t *entry = walk(root, va, 1);
    if (!entry) return -1;
    if (*entry & PTE_V) panic("map_page: already mapped");
    *entry = address_pte(pa) | flags | PTE_V;
    return 0;
}

static void map_range(page_table_t root, u64 start, u64 end, u64 flags)
{
    for (u64 a = start & ~(PAGE_SIZE - 1); a < end; a += PAGE_SIZE)
        if (map_page(root, a, a, flags) < 0) panic("kernel map: out of pages");
}

static page_table_t kernel_root;
u64 kernel_satp;

void kernel_map_init(void)
{
    kernel_root = page_alloc();
    map_range(kernel_root, RAM_BASE, (u64)__text_end, PTE_R | PTE_X | PTE_G);
    map_range(kernel_root, (u64)__text_end, (u64)__rodata_end, PTE_R | PTE_G);
    /* data, .bss and the user program's load image (the kernel copies .user_data from it);
       the machine area in between is left out: PMP forbids S to touch it anyway */
    map_range(kernel_root, (u64)__rodata_end, (u64)__machine_start, PTE_R | PTE_W | PTE_G);
    map_range(kernel_root, (u64)__machine_end, pool_end, PTE_R | PTE_W | PTE_G);
    map_range(kernel_root, FINISHER, FINISHER + PAGE_SIZE, PTE_R | PTE_W | PTE_G);
    map_range(kernel_root, PLIC, PLIC + 0x3000, PTE_R | PTE_W | PTE_G);       /* priority, pending, enables */
    map_range(kernel_root, PLIC + 0x200000, PLIC + 0x202000, PTE_R | PTE_W | PTE_G); /* contexts 0, 1 */
    map_range(kernel_root, UART0, VIRTIO_MMIO_BASE + VIRTIO_MMIO_SLOTS * VIRTIO_MMIO_STRIDE,
              PTE_R | PTE_W | PTE_G);
    if (kernel_root[1] & PTE_V) panic("kernel map uses the user gigabyte");
    kernel_satp = SATP_SV39 | ((u64)kernel_root >> 12);
}

/* map [va, va + size) to fresh pages (copied from src when it is not 0) owned by the process */
static int map_private(page_table_t root, u64 va, u64 size, const u8 *src, u64 flags)
{
    for (u64 offset = 0; offset < size; offset += PAGE_SIZE) {
        u8 *page = page_alloc();
        if (!page) return -1;
        if (src) memcpy(page, src + offset, PAGE_SIZE);
        if (map_page(root, va + offset, (u64)page, flags | PTE_OWNED) < 0) {
            page_free(page);
            return -1;
        }
    }
    return 0;
}

page_table_t user_space_create(void)
{
    page_table_t root = page_alloc();
    if (!root) return 0;
    memcpy(root, kernel_root, PAGE_SIZE);
    int failed = 0;
    /* code and constants: one physical copy (the load image) for every process */
    u64 text_size = __user_text_end - __user_text_start;
    for (u64 offset = 0; offset < text_size && !failed; offset += PAGE_SIZE)
        failed = map_page(root, (u64)__user_text_start + offset, (u64)__user_text_lma + offset,
                          PTE_R | PTE_X | PTE_U) < 0;
    u64 rodata_size = __user_rodata_end - __user_rodata_start;
    for (u64 offset = 0; offset < rodata_size && !failed; offset += PAGE_SIZE)
        failed = map_page(root, (u64)__user_rodata_start + offset, (u64)__user_rodata_lma + offset,
                          PTE_R | PTE_U) < 0;
    /* data and .bss: a private copy */
    if (!failed)
        failed = map_private(root, (u64)__user_data_start, __user_data_end - __user_data_start,
                             (const u8 *)__user_data_lma, PTE_R | PTE_W | PTE_U) < 0;
    /* the stack, with an unmapped guard page below it */
    if (!failed)
        failed = map_private(root, USER_STACK_TOP - USER_STACK_PAGES * PAGE_SIZE,
                             USER_STACK_PAGES * PAGE_SIZE, 0, PTE_R | PTE_W | PTE_U) < 0;
    if (failed) {
        user_space_free(root);
        return 0;
    }
    return root;
}

/* Frees the process's part of the tree (entry 1 of the root) and the root itself. */
void user_space_free(page_table_t root)
{
    pte_t top = root[1];
    if (top & PTE_V) {
        page_table_t middle = (page_table_t)pte_address(top);
        for (int i = 0; i < 512; i++) {
            if (!(middle[i] & PTE_V)) continue;
            page_table_t leaves = (page_table_t)pte_address(middle[i]);
            for (int j = 0; j < 512; j++)
                if ((leaves[j] & PTE_V) && (leaves[j] & PTE_OWNED))
                    page_free((void *)pte_address(leaves[j]));
            page_free(leaves);
        }
        page_free(middle);
    }
    page_free(root);
}

/* The physical address behind a user virtual address when the page allows `need` to U-mode;
 * 0 otherwise.  The kernel reaches user memory only this way (sstatus.SUM stays 0). */
static u64 user_address(page_table_t root, u64 va, u64 need)
{
    if (va < USER_REGION_START || va >= USER_REGION_END) return 0;
    pte_t *entry = walk(root, va, 0);
    if (!entry) return 0;
    u64 flags = PTE_V | PTE_U | need;
    if ((*entry & flags) != flags) return 0;
    return pte_address(*entry) | (va & (PAGE_SIZE - 1));
}

int user_range_ok(page_table_t root, u64 va, u64 length, u64 need)
{
    if (length == 0) return 1;
    if (va + length < va) return 0;
    for (u64 page = va & ~(PAGE_SIZE - 1); page < va + length; page += PAGE_SIZE)
        if (!user_address(root, page, need)) return 0;
    return 1;
}

int copy_in(page_table_t root, void *dst, u64 src_va, u64 length)
{
    u8 *out = dst;
    while (length) {
        u64 pa = user_address(root, src_va, PTE_R);
        if (!pa) return -1;
        u64 chunk = PAGE_SIZE - (src_va & (PAGE_SIZE - 1));
        if (chunk > length) chunk = length;
        memcpy(out, (const void *)pa, chunk);
        out += chunk;
        src_va += chunk;
        length -= chunk;
    }
    return 0;
}

int copy_out(page_table_t root, u64 dst_va, const void *src, u64 length)
{
    const u8 *in = src;
    while (length) {
        u64 pa = user_address(root, dst_va, PTE_W);
        if (!pa) return -1;
        u64 chunk = PAGE_SIZE - (dst_va & (PAGE_SIZE - 1));
        if (chunk > length) chunk = length;
        memcpy((void *)pa, in, chunk);
        in += chunk;
        dst_va += chunk;
        length -= chunk;
    }
    return 0;
}

/* a NUL-terminated string of at most max - 1 characters; -1 if it is longer or unreadable */
int copy_in_string(page_table_t root, char *dst, u64 src_va, u64 max)
{
    for (u64 i = 0; i < max; i++) {
        u64 pa = user_address(root, src_va + i, PTE_R);
        if (!pa) return -1;
        dst[i] = *(const char *)pa;
        if (!dst[i]) return 0;
    }
    return -1;
}
