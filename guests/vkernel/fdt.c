/* vkernel: reads the kernel command line (/chosen/bootargs) from the flattened device tree
 * whose address QEMU and Ringside pass in a1 at boot.  Everything is checked against the
 * tree's own sizes; a missing or malformed tree just means "no command line". */
#include "vkernel.h"

#define FDT_MAGIC       0xd00dfeed
#define FDT_BEGIN_NODE  1
#define FDT_END_NODE    2
#define FDT_PROP        3
#define FDT_NOP         4
#define FDT_END         9
#define FDT_MAX_SIZE    (1u << 20)

static u32 big_endian(const u8 *p)
{
    return (u32)p[0] << 24 | (u32)p[1] << 16 | (u32)p[2] << 8 | p[3];
}

static int string_equal(const char *a, const char *b)
{
    while (*a && *a == *b) a++, b++;
    return *a == *b;
}

/* length of the NUL-terminated string at p, or -1 if it runs past limit */
static i64 bounded_length(const u8 *p, const u8 *limit)
{
    for (const u8 *q = p; q < limit; q++)
        if (!*q) return q - p;
    return -1;
}

/* copies /chosen/bootargs into out (at most max - 1 characters); 1 if found, 0 if not */
int fdt_chosen_bootargs(u64 dtb, char *out, u64 max)
{
    out[0] = 0;
    if (dtb < RAM_BASE || dtb % 8) return 0;
    const u8 *tree = (const u8 *)dtb;
    u32 total = big_endian(tree + 4);
    if (big_endian(tree) != FDT_MAGIC || total < 40 || total > FDT_MAX_SIZE) return 0;
    u32 struct_offset = big_endian(tree + 8), strings_offset = big_endian(tree + 12);
    u32 struct_size = big_endian(tree + 36), strings_size = big_endian(tree + 32);
    if (struct_offset > total || struct_size > total - struct_offset) return 0;
    if (strings_offset > total || strings_size > total - strings_offset) return 0;

    const u8 *p = tree + struct_offset, *end = p + struct_size;
    const u8 *strings = tree + strings_offset;
    int depth = 0, in_chosen = 0;
    while (p + 4 <= end) {
        u32 token = big_endian(p);
        p += 4;
        if (token == FDT_BEGIN_NODE) {
            i64 length = bounded_length(p, end);
            if (length < 0) return 0;
            depth++;
            if (depth == 2 && string_equal((const char *)p, "chosen")) in_chosen = 1;
            p += (length + 1 + 3) & ~3ul;
        } else if (token == FDT_END_NODE) {
            if (depth == 2) in_chosen = 0;
            if (--depth < 0) return 0;
        } else if (token == FDT_PROP) {
            if (p + 8 > end) return 0;
            u32 length = big_endian(p), name_offset = big_endian(p + 4);
            p += 8;
            if (length > (u64)(end - p) || name_offset >= strings_size) return 0;
            const u8 *name = strings + name_offset;
            if (bounded_length(name, strings + strings_size) < 0) return 0;
            if (in_chosen && depth == 2 && string_equal((const char *)name, "bootargs")) {
                i64 text = bounded_length(p, p + length);
                if (text < 0) return 0;
                string_copy(out, (const char *)p, max);
                return 1;
            }
            p += (length + 3) & ~3u;
        } else if (token == FDT_NOP) {
            continue;
        } else {
            break;                      /* FDT_END or garbage */
        }
    }
    return 0;
}
