/* vkernel: driver for the virtio block device on the modern (version 2) virtio-mmio
 * interface, interrupt-driven.
 *
 * - Probe: the eight virtio-mmio slots at 0x1000_1000 + 0x1000 n (IRQ 1 + n); the first slot
 *   with the magic value, version 2 and device id 2 is the disk.
 * - Initialisation (virtio 1.2, 3.1.1): reset, ACKNOWLEDGE, DRIVER, features, FEATURES_OK
 *   (read back), queue 0, DRIVER_OK.  Two ways to negotiate features, chosen at boot with
 *   vkernel.features= on the kernel command line:
 *     version1 (default)  select feature pages 0 and 1, accept VIRTIO_F_VERSION_1 and FLUSH
 *     xv6                 as xv6 does: never write the feature select registers (so only
 *                         page 0 is seen), accept the offered bits minus the ones this driver
 *                         does not handle, and so never accept VERSION_1.  QEMU lets such
 *                         drivers run on the modern interface.
 * - Requests: chains of three descriptors (header, data, status), or two for FLUSH; the
 *   process sleeps until the used ring returns its chain, which the interrupt handler
 *   reports.  Eight descriptors make at most two requests in flight: a third waits for
 *   descriptors, which the handler frees. */
#include "vkernel.h"

/* virtio-mmio registers (version 2) */
#define MMIO_MAGIC              0x000
#define MMIO_VERSION            0x004
#define MMIO_DEVICE_ID          0x008
#define MMIO_VENDOR_ID          0x00c
#define MMIO_DEVICE_FEATURES    0x010
#define MMIO_DEVICE_FEATURES_SEL 0x014
#define MMIO_DRIVER_FEATURES    0x020
#define MMIO_DRIVER_FEATURES_SEL 0x024
#define MMIO_QUEUE_SEL          0x030
#define MMIO_QUEUE_NUM_MAX      0x034
#define MMIO_QUEUE_NUM          0x038
#define MMIO_QUEUE_READY        0x044
#define MMIO_QUEUE_NOTIFY       0x050
#define MMIO_INTERRUPT_STATUS   0x060
#define MMIO_INTERRUPT_ACK      0x064
#define MMIO_STATUS             0x070
#define MMIO_QUEUE_DESC_LOW     0x080
#define MMIO_QUEUE_DESC_HIGH    0x084
#define MMIO_QUEUE_DRIVER_LOW   0x090
#define MMIO_QUEUE_DRIVER_HIGH  0x094
#define MMIO_QUEUE_DEVICE_LOW   0x0a0
#define MMIO_QUEUE_DEVICE_HIGH  0x0a4
#define MMIO_CONFIG_GENERATION  0x0fc
#define MMIO_CONFIG             0x100

#define VIRTIO_MAGIC            0x74726976      /* "virt" */
#define VIRTIO_DEVICE_BLOCK     2

/* device status bits */
#define STATUS_ACKNOWLEDGE      1
#define STATUS_DRIVER           2
#define STATUS_DRIVER_OK        4
#define STATUS_FEATURES_OK      8
#define STATUS_NEEDS_RESET      64
#define STATUS_FAILED           128

/* feature bits (page 0 unless noted) */
#define BLK_F_RO                (1u << 5)
#define BLK_F_BLK_SIZE          (1u << 6)
#define BLK_F_SCSI              (1u << 7)
#define BLK_F_FLUSH             (1u << 9)
#define BLK_F_CONFIG_WCE        (1u << 11)
#define BLK_F_MQ                (1u << 12)
#define F_ANY_LAYOUT            (1u << 27)
#define F_INDIRECT_DESC         (1u << 28)
#define F_EVENT_IDX             (1u << 29)
#define F_VERSION_1_PAGE1       (1u << 0)       /* bit 32: page 1, bit 0 */

#define VIRTQ_DESC_F_NEXT       1
#define VIRTQ_DESC_F_WRITE      2

#define BLK_S_OK                0

#define QUEUE_SIZE 8

struct virtq_desc {
    u64 addr;
    u32 len;
    u16 flags;
    u16 next;
};

struct virtq_avail {
    u16 flags;
    u16 idx;
    u16 ring[QUEUE_SIZE];
    u16 used_event;
};

struct virtq_used_elem {
    u32 id;
    u32 len;
};

struct virtq_used {
    u16 flags;
    u16 idx;
    struct virtq_used_elem ring[QUEUE_SIZE];
    u16 avail_event;
};

/* the three parts of the split virtqueue, each on a page of its own */
static struct virtq_desc descriptors[QUEUE_SIZE] __attribute__((aligned(PAGE_SIZE)));
static struct virtq_avail avail __attribute__((aligned(PAGE_SIZE)));
static struct virtq_used used __attribute__((aligned(PAGE_SIZE)));

struct blk_header {
    u32 type;
    u32 reserved;
    u64 sector;
};

/* one in-flight request, indexed by the head descriptor of its chain */
struct request {
    struct blk_header header;           /* device-readable */
    volatile u8 status;                 /* device-writable */
    volatile int done;
    u32 used_length;
    u32 expected_length;
    int in_flight;
};

static struct request requests[QUEUE_SIZE];
static u8 descriptor_free[QUEUE_SIZE];
static u16 used_seen;                   /* used.idx up to which completions were handled */
static u64 base;                        /* the disk's virtio-mmio registers */
static int flush_negotiated;

u64 disk_sectors;
u32 disk_irq;
struct disk_counters disk_counters;

static u32 reg_read(u32 offset) { return *(volatile u32 *)(base + offset); }
static void reg_write(u32 offset, u32 value) { *(volatile u32 *)(base + offset) = value; }

static void fail_init(const char *why)
{
    kprintf("vkernel: virtio-blk: %s\n", why);
    if (base) reg_write(MMIO_STATUS, reg_read(MMIO_STATUS) | STATUS_FAILED);
    power_off(EXIT_NO_DISK);
}

static const char *device_name(u32 id)
{
    switch (id) {
    case 1: return "network";
    case 2: return "block";
    case 3: return "console";
    case 4: return "entropy";
    case 5: return "balloon";
    case 16: return "gpu";
    case 18: return "input";
    default: return "other";
    }
}

/* finds the disk: every slot with a device is listed; the first modern block device wins */
static int probe(void)
{
    int found = -1, legacy_block = 0;
    for (int slot = 0; slot < VIRTIO_MMIO_SLOTS; slot++) {
        u64 slot_base = VIRTIO_MMIO_BASE + slot * VIRTIO_MMIO_STRIDE;
        volatile u32 *regs = (volatile u32 *)slot_base;
        if (regs[MMIO_MAGIC / 4] != VIRTIO_MAGIC) continue;
        u32 version = regs[MMIO_VERSION / 4], device = regs[MMIO_DEVICE_ID / 4];
        if (device == 0) continue;      /* an empty slot */
        kprintf("vkernel: virtio-mmio slot %u at 0x%x (irq %u): version %u, device %u (%s)\n",
                (u64)slot, slot_base, (u64)(slot + 1), (u64)version, (u64)device,
                device_name(device));
        if (device != VIRTIO_DEVICE_BLOCK || found >= 0) continue;
        if (version == 2)
            found = slot;
        else
            legacy_block = 1;
    }
    if (found < 0 && legacy_block)
        kprintf("vkernel: virtio-blk: only the legacy interface (version 1) is offered; this driver "
                "needs version 2 (QEMU: -global virtio-mmio.force-legacy=false)\n");
    return found;
}

static u32 negotiate_features(enum disk_feature_mode mode)
{
    u32 accepted;
    if (mode == FEATURES_XV6) {
        u32 offered = reg_read(MMIO_DEVICE_FEATURES);  /* page 0: the select register's reset value */
        accepted = offered & ~(BLK_F_RO | BLK_F_SCSI | BLK_F_CONFIG_WCE | BLK_F_MQ | F_ANY_LAYOUT |
                               F_EVENT_IDX | F_INDIRECT_DESC);
        reg_write(MMIO_DRIVER_FEATURES, accepted);
        kprintf("vkernel: virtio-blk: features (xv6 style, page 0 only): offered 0x%08x, "
                "accepted 0x%08x, VERSION_1 not accepted\n", (u64)offered, (u64)accepted);
    } else {
        reg_write(MMIO_DEVICE_FEATURES_SEL, 0);
        u32 offered_low = reg_read(MMIO_DEVICE_FEATURES);
        reg_write(MMIO_DEVICE_FEATURES_SEL, 1);
        u32 offered_high = reg_read(MMIO_DEVICE_FEATURES);
        if (!(offered_high & F_VERSION_1_PAGE1)) fail_init("the device does not offer VIRTIO_F_VERSION_1");
        accepted = offered_low & (BLK_F_FLUSH | BLK_F_BLK_SIZE);
        reg_write(MMIO_DRIVER_FEATURES_SEL, 0);
        reg_write(MMIO_DRIVER_FEATURES, accepted);
        reg_write(MMIO_DRIVER_FEATURES_SEL, 1);
        reg_write(MMIO_DRIVER_FEATURES, F_VERSION_1_PAGE1);
        kprintf("vkernel: virtio-blk: features: offered 0x%08x%08x, accepted 0x%08x%08x "
                "(VERSION_1%s)\n", (u64)offered_high, (u64)offered_low,
                (u64)F_VERSION_1_PAGE1, (u64)accepted, accepted & BLK_F_FLUSH ? ", FLUSH" : "");
    }
    if (accepted & BLK_F_RO) fail_init("the disk is read-only");
    return accepted;
}

/* capacity is two registers: read it until the configuration generation is stable */
static u64 read_capacity(void)
{
    u32 generation, low, high;
    do {
        generation = reg_read(MMIO_CONFIG_GENERATION);
        low = reg_read(MMIO_CONFIG + 0);
        high = reg_read(MMIO_CONFIG + 4);
    } while (reg_read(MMIO_CONFIG_GENERATION) != generation);
    return (u64)high << 32 | low;
}

void disk_probe_and_init(enum disk_feature_mode mode)
{
    int slot = probe();
    if (slot < 0) {
        kprintf("vkernel: no virtio-mmio block device (version 2) in slots 0..7\n");
        power_off(EXIT_NO_DISK);
    }
    base = VIRTIO_MMIO_BASE + slot * VIRTIO_MMIO_STRIDE;
    disk_irq = slot + 1;

    reg_write(MMIO_STATUS, 0);          /* reset; it is done when the status reads 0 */
    while (reg_read(MMIO_STATUS) != 0)
        ;
    reg_write(MMIO_STATUS, STATUS_ACKNOWLEDGE);
    reg_write(MMIO_STATUS, STATUS_ACKNOWLEDGE | STATUS_DRIVER);
    u32 features = negotiate_features(mode);
    flush_negotiated = (features & BLK_F_FLUSH) != 0;
    reg_write(MMIO_STATUS, STATUS_ACKNOWLEDGE | STATUS_DRIVER | STATUS_FEATURES_OK);
    if (!(reg_read(MMIO_STATUS) & STATUS_FEATURES_OK)) fail_init("the device refused the features");

    reg_write(MMIO_QUEUE_SEL, 0);
    if (reg_read(MMIO_QUEUE_READY)) fail_init("queue 0 is already live after reset");
    u32 max = reg_read(MMIO_QUEUE_NUM_MAX);
    if (max == 0) fail_init("the device has no queue 0");
    if (max < QUEUE_SIZE) fail_init("queue 0 is shorter than 8 entries");
    reg_write(MMIO_QUEUE_NUM, QUEUE_SIZE);
    reg_write(MMIO_QUEUE_DESC_LOW, (u32)(u64)descriptors);
    reg_write(MMIO_QUEUE_DESC_HIGH, (u32)((u64)descriptors >> 32));
    reg_write(MMIO_QUEUE_DRIVER_LOW, (u32)(u64)&avail);
    reg_write(MMIO_QUEUE_DRIVER_HIGH, (u32)((u64)&avail >> 32));
    reg_write(MMIO_QUEUE_DEVICE_LOW, (u32)(u64)&used);
    reg_write(MMIO_QUEUE_DEVICE_HIGH, (u32)((u64)&used >> 32));
    reg_write(MMIO_QUEUE_READY, 1);
    for (int i = 0; i < QUEUE_SIZE; i++) descriptor_free[i] = 1;

    disk_sectors = read_capacity();
    reg_write(MMIO_STATUS, STATUS_ACKNOWLEDGE | STATUS_DRIVER | STATUS_FEATURES_OK | STATUS_DRIVER_OK);
    u32 status = reg_read(MMIO_STATUS);
    if (status & (STATUS_NEEDS_RESET | STATUS_FAILED)) fail_init("the device failed after DRIVER_OK");

    plic_init_irq(disk_irq);
    kprintf("vkernel: virtio-blk: slot %u, irq %u, %u sectors (%u KiB), queue size %u of %u, "
            "flush %s\n", (u64)slot, (u64)disk_irq, disk_sectors, disk_sectors / 2,
            (u64)QUEUE_SIZE, (u64)max, flush_negotiated ? "negotiated" : "not offered");
}

/* ---- requests ----------------------------------------------------------------------------- */

static int allocate_chain(int count, int *chain)
{
    int n = 0;
    for (int i = 0; i < QUEUE_SIZE && n < count; i++)
        if (descriptor_free[i]) chain[n++] = i;
    if (n < count) return -1;
    for (int i = 0; i < count; i++) descriptor_free[chain[i]] = 0;
    return 0;
}

static void free_chain(int head)
{
    for (int i = head;;) {
        descriptor_free[i] = 1;
        if (!(descriptors[i].flags & VIRTQ_DESC_F_NEXT)) break;
        i = descriptors[i].next;
    }
    wakeup(descriptor_free);
}

static void set_descriptor(int i, void *address, u32 length, u16 flags, int next)
{
    descriptors[i].addr = (u64)address;
    descriptors[i].len = length;
    descriptors[i].flags = flags;
    descriptors[i].next = next < 0 ? 0 : (u16)next;
}

/* One request, in the calling process; it sleeps until the device is done.  type IN, OUT or
 * FLUSH; buffer is physically contiguous (identity-mapped kernel memory). 0 or -1. */
int disk_request(int type, u64 sector, u8 *buffer, u32 sectors)
{
    if (type == VIRTIO_BLK_T_FLUSH && !flush_negotiated) return -1;
    int with_data = type != VIRTIO_BLK_T_FLUSH;
    int chain[3];
    while (allocate_chain(with_data ? 3 : 2, chain) < 0) {
        disk_counters.descriptor_waits++;
        sleep_on(descriptor_free);
    }

    struct request *r = &requests[chain[0]];
    r->header.type = type;
    r->header.reserved = 0;
    r->header.sector = sector;
    r->status = 0xff;                   /* the device must overwrite it */
    r->done = 0;
    r->in_flight = 1;
    r->used_length = 0;
    /* the device reports the bytes it wrote: data (for a read) and the status byte */
    r->expected_length = (type == VIRTIO_BLK_T_IN ? sectors * 512 : 0) + 1;

    set_descriptor(chain[0], &r->header, sizeof r->header, VIRTQ_DESC_F_NEXT, chain[1]);
    if (with_data) {
        set_descriptor(chain[1], buffer, sectors * 512,
                       VIRTQ_DESC_F_NEXT | (type == VIRTIO_BLK_T_IN ? VIRTQ_DESC_F_WRITE : 0),
                       chain[2]);
        set_descriptor(chain[2], (void *)&r->status, 1, VIRTQ_DESC_F_WRITE, -1);
    } else {
        set_descriptor(chain[1], (void *)&r->status, 1, VIRTQ_DESC_F_WRITE, -1);
    }

    avail.ring[avail.idx % QUEUE_SIZE] = chain[0];
    memory_fence();                     /* the ring entry before the index that publishes it */
    *(volatile u16 *)&avail.idx = avail.idx + 1;
    memory_fence();                     /* the index before the notification */
    reg_write(MMIO_QUEUE_NOTIFY, 0);
    disk_counters.requests++;

    while (!r->done)                    /* interrupts are off in the kernel: no lost wake-up */
        sleep_on(r);

    int ok = r->status == BLK_S_OK && r->used_length == r->expected_length;
    if (r->status != BLK_S_OK) {
        disk_counters.errors++;
        kprintf("vkernel: virtio-blk: request type %u sector %u failed, status %u\n", (u64)type,
                sector, (u64)r->status);
    } else if (r->used_length != r->expected_length) {
        disk_counters.length_mismatches++;
        kprintf("vkernel: virtio-blk: request type %u sector %u: used length %u, expected %u\n",
                (u64)type, sector, (u64)r->used_length, (u64)r->expected_length);
    } else if (type == VIRTIO_BLK_T_IN) {
        disk_counters.sectors_read += sectors;
    } else if (type == VIRTIO_BLK_T_OUT) {
        disk_counters.sectors_written += sectors;
    } else {
        disk_counters.flushes++;
    }
    r->in_flight = 0;
    free_chain(chain[0]);
    return ok ? 0 : -1;
}

/* The disk's interrupt: acknowledge it, then hand every new used-ring entry to its waiter. */
void disk_interrupt(void)
{
    disk_counters.interrupts++;
    reg_write(MMIO_INTERRUPT_ACK, reg_read(MMIO_INTERRUPT_STATUS) & 3);
    memory_fence();
    while (used_seen != *(volatile u16 *)&used.idx) {
        memory_fence();                 /* the index before the entry it publishes */
        struct virtq_used_elem element = used.ring[used_seen % QUEUE_SIZE];
        used_seen++;
        if (element.id >= QUEUE_SIZE || !requests[element.id].in_flight ||
            requests[element.id].done) {
            disk_counters.unknown_completions++;
            kprintf("vkernel: virtio-blk: completion for descriptor %u, which is not in flight\n",
                    (u64)element.id);
            continue;
        }
        struct request *r = &requests[element.id];
        r->used_length = element.len;
        r->done = 1;
        disk_counters.completed++;
        wakeup(r);
    }
}
