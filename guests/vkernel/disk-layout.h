/* The vkernel disk image (512-byte sectors): what the host puts there before boot and what the
 * guest leaves for the host to check.  guests/vkernel/make-disk.mjs reads the #defines of this
 * file, so the numbers live here only; pattern_word() is repeated there (in JavaScript).
 *
 *   sector 0                header written by the host (magic + this layout); read by hostcheck
 *   sector 1                result record written by init (VKERNEL_RESULT_MAGIC, children,
 *                           failures, then pid/status pairs)
 *   64..127                 host -> guest: pattern_word(SEED_HOST, sector, word)
 *   128..191                guest -> host: the host pattern inverted, written by hostcheck
 *   256 + 64k .. +63        disk worker k's region (k < DISK_WORKERS):
 *                           pattern_word(SEED_WORKER + k, sector, word), except the
 *                           region's sector DISK_REWRITTEN_SECTOR: SEED_REWRITE + k
 *   every other sector      filler from the host: pattern_word(SEED_STALE, sector, word),
 *                           so stale data never passes for the right data */
#ifndef VKERNEL_DISK_LAYOUT_H
#define VKERNEL_DISK_LAYOUT_H

#define DISK_SECTOR_SIZE        512
#define DISK_IMAGE_SECTORS      2048
#define DISK_HEADER_SECTOR      0
#define DISK_RESULT_SECTOR      1
#define DISK_HOST_BASE          64
#define DISK_HOST_COUNT         64
#define DISK_GUEST_BASE         128
#define DISK_GUEST_COUNT        64
#define DISK_WORKER_BASE        256
#define DISK_WORKER_SECTORS     64
#define DISK_WORKERS            3
#define DISK_REWRITTEN_SECTOR   5
#define DISK_CHILDREN           5       /* init's children: compute, hostcheck, the workers */

#define SEED_HOST               0x484f5354u
#define SEED_STALE              0x5354414cu
#define SEED_WORKER             0x574b0000u
#define SEED_REWRITE            0x52570000u

#define DISK_MAGIC              "RINGSIDE VKERNEL DISK 1"
#define VKERNEL_RESULT_MAGIC    "VKERNEL RESULT 1"

/* header sector: the magic (NUL-padded to 32 bytes), then these little-endian u32 fields */
#define HEADER_FIELD_OFFSET     32
#define HEADER_FIELDS           9       /* image sectors, host base, host count, guest base,
                                           guest count, worker base, worker sectors, workers,
                                           host seed */

/* One 32-bit word of a pattern: a hash of (seed, absolute sector, word index), so a sector
 * written to the wrong place, a stale sector and a swapped word all show. */
static inline uint32_t pattern_word(uint32_t seed, uint32_t sector, uint32_t index)
{
    uint32_t x = seed ^ (sector * 0x9e3779b1u) ^ (index * 0x85ebca77u);
    x ^= x >> 16;
    x *= 0x7feb352du;
    x ^= x >> 15;
    x *= 0x846ca68bu;
    x ^= x >> 16;
    return x;
}

#endif
