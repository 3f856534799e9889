// Builds the device tree of the `virt` machine from the layout constants, matching what QEMU
// 7.2's `virt` board generates for the devices Ringside has (no PCI, flash, fw-cfg or PMU node).

import { DEFAULT_CPU_MODEL, type CpuModel } from '../cpu/cpu-model';
import { DeviceTreeNode, PhandleAllocator, serializeDeviceTree } from './fdt';
import {
  CLINT,
  MAX_HARTS,
  PLIC,
  PLIC_SOURCE_COUNT,
  RTC,
  RTC_IRQ,
  TEST_FINISHER,
  TIMEBASE_FREQUENCY,
  UART0,
  UART0_IRQ,
  VIRTIO_MMIO_BASE,
  VIRTIO_MMIO_SLOTS,
  VIRTIO_MMIO_STRIDE,
  virtioMmioIrq,
  type DeviceRegion,
} from './layout';
import { InterruptBit } from '../devices/device';

/** The 16550's input clock as QEMU advertises it (3.6864 MHz). */
const UART_CLOCK_FREQUENCY = 0x38_4000;
const TEST_FINISHER_POWEROFF = 0x5555;
const TEST_FINISHER_RESET = 0x7777;

export interface VirtDeviceTreeOptions {
  ramBase: number;
  ramSize: number;
  hartCount: number;
  bootargs?: string;
  initrdStart?: number;
  initrdEnd?: number;
  /** Defaults to the UART: "/soc/serial@10000000". */
  stdoutPath?: string;
  rngSeed?: Uint8Array;
  /** The harts' CPU model: `riscv,isa` and `mmu-type` come from it (default: QEMU 7.2's default CPU). */
  cpu?: CpuModel;
  /** Overrides the model's `mmu-type` (QEMU's is always Sv48 for 64-bit harts). */
  mmuType?: 'riscv,sv39' | 'riscv,sv48' | 'riscv,sv57';
}

const unitAddress = (name: string, address: number): string => `${name}@${address.toString(16)}`;

/** `reg` with #address-cells = #size-cells = 2. */
const regCells = (base: number, size: number): number[] => [
  Math.floor(base / 0x1_0000_0000),
  base >>> 0,
  Math.floor(size / 0x1_0000_0000),
  size >>> 0,
];

/** The path of the UART node, the default console. */
export const UART0_NODE_PATH = `/soc/${unitAddress('serial', UART0.base)}`;

/** The `virt` tree as a node graph (for callers that want to adjust it before serialising). */
export function buildVirtDeviceTreeNodes(options: VirtDeviceTreeOptions): DeviceTreeNode {
  const { ramBase, ramSize, hartCount } = options;
  if (!Number.isInteger(hartCount) || hartCount < 1 || hartCount > MAX_HARTS) {
    throw new Error(`device tree: hart count must be 1..${MAX_HARTS}, got ${hartCount}`);
  }
  if (!Number.isSafeInteger(ramBase) || !Number.isSafeInteger(ramSize) || ramBase < 0 || ramSize <= 0) {
    throw new Error(`device tree: invalid RAM range base 0x${ramBase.toString(16)} size ${ramSize}`);
  }
  if ((options.initrdStart === undefined) !== (options.initrdEnd === undefined)) {
    throw new Error('device tree: initrdStart and initrdEnd must be given together');
  }
  if (options.initrdStart !== undefined && options.initrdEnd !== undefined && options.initrdEnd < options.initrdStart) {
    throw new Error('device tree: initrdEnd is below initrdStart');
  }

  const cpuModel = options.cpu ?? DEFAULT_CPU_MODEL;
  const phandles = new PhandleAllocator();
  const root = new DeviceTreeNode('');
  root.setU32('#address-cells', 2).setU32('#size-cells', 2);
  root.setString('compatible', 'riscv-virtio').setString('model', 'riscv-virtio,qemu');

  const chosen = root.addChild('chosen');
  if (options.bootargs !== undefined) chosen.setString('bootargs', options.bootargs);
  chosen.setString('stdout-path', options.stdoutPath ?? UART0_NODE_PATH);
  if (options.initrdStart !== undefined && options.initrdEnd !== undefined) {
    // One cell like QEMU 7.2 when the address fits, two otherwise (Linux reads either).
    const setAddress = (name: string, value: number): void => {
      if (value <= 0xffff_ffff) chosen.setU32(name, value);
      else chosen.setU64(name, value);
    };
    setAddress('linux,initrd-start', options.initrdStart);
    setAddress('linux,initrd-end', options.initrdEnd);
  }
  if (options.rngSeed !== undefined) chosen.setBytes('rng-seed', options.rngSeed.slice());

  root.addChild('aliases').setString('serial0', UART0_NODE_PATH);

  // The test finisher node is referenced (regmap) before it is placed under /soc.
  const testNode = new DeviceTreeNode(unitAddress('test', TEST_FINISHER.base));
  const testPhandle = phandles.assign(testNode);
  root.addChild('poweroff')
    .setU32('value', TEST_FINISHER_POWEROFF)
    .setU32('offset', 0)
    .setU32('regmap', testPhandle)
    .setString('compatible', 'syscon-poweroff');
  root.addChild('reboot')
    .setU32('value', TEST_FINISHER_RESET)
    .setU32('offset', 0)
    .setU32('regmap', testPhandle)
    .setString('compatible', 'syscon-reboot');

  root.addChild(unitAddress('memory', ramBase)).setString('device_type', 'memory').setCells('reg', regCells(ramBase, ramSize));

  const cpus = root.addChild('cpus');
  cpus.setU32('#address-cells', 1).setU32('#size-cells', 0).setU32('timebase-frequency', TIMEBASE_FREQUENCY);
  const cpuPhandles: number[] = [];
  const intcPhandles: number[] = [];
  for (let hart = 0; hart < hartCount; hart++) {
    const cpu = cpus.addChild(unitAddress('cpu', hart));
    cpuPhandles.push(phandles.assign(cpu));
    cpu.setString('device_type', 'cpu')
      .setU32('reg', hart)
      .setString('status', 'okay')
      .setString('compatible', 'riscv')
      .setString('riscv,isa', cpuModel.isaString)
      .setString('mmu-type', options.mmuType ?? cpuModel.mmuType);
    const intc = cpu.addChild('interrupt-controller');
    intc.setU32('#interrupt-cells', 1).setEmpty('interrupt-controller').setString('compatible', 'riscv,cpu-intc');
    intcPhandles.push(phandles.assign(intc));
  }
  const cluster = cpus.addChild('cpu-map').addChild('cluster0');
  for (let hart = 0; hart < hartCount; hart++) cluster.addChild(`core${hart}`).setU32('cpu', cpuPhandles[hart]);

  const soc = root.addChild('soc');
  soc.setU32('#address-cells', 2).setU32('#size-cells', 2).setString('compatible', 'simple-bus').setEmpty('ranges');

  const plicNode = new DeviceTreeNode(unitAddress('plic', PLIC.base));
  const plicPhandle = phandles.assign(plicNode);
  const addDevice = (name: string, region: DeviceRegion): DeviceTreeNode => soc.addChild(unitAddress(name, region.base));
  const wireToPlic = (node: DeviceTreeNode, irq: number): void => {
    node.setU32('interrupts', irq).setU32('interrupt-parent', plicPhandle);
  };

  // Children in QEMU's order (Linux enumerates virtio-mmio slots in tree order).
  const rtc = addDevice('rtc', RTC);
  wireToPlic(rtc, RTC_IRQ);
  rtc.setCells('reg', regCells(RTC.base, RTC.size)).setString('compatible', 'google,goldfish-rtc');

  const serial = addDevice('serial', UART0);
  wireToPlic(serial, UART0_IRQ);
  serial.setU32('clock-frequency', UART_CLOCK_FREQUENCY).setCells('reg', regCells(UART0.base, UART0.size)).setString('compatible', 'ns16550a');

  soc.children.push(testNode);
  testNode.setCells('reg', regCells(TEST_FINISHER.base, TEST_FINISHER.size)).setStringList('compatible', ['sifive,test1', 'sifive,test0', 'syscon']);

  for (let slot = VIRTIO_MMIO_SLOTS - 1; slot >= 0; slot--) {
    const base = VIRTIO_MMIO_BASE + slot * VIRTIO_MMIO_STRIDE;
    const virtio = addDevice('virtio_mmio', { base, size: VIRTIO_MMIO_STRIDE });
    wireToPlic(virtio, virtioMmioIrq(slot));
    virtio.setCells('reg', regCells(base, VIRTIO_MMIO_STRIDE)).setString('compatible', 'virtio,mmio');
  }

  soc.children.push(plicNode);
  const plicTargets: number[] = [];
  const clintTargets: number[] = [];
  for (const intc of intcPhandles) {
    plicTargets.push(intc, InterruptBit.MachineExternal, intc, InterruptBit.SupervisorExternal);
    clintTargets.push(intc, InterruptBit.MachineSoftware, intc, InterruptBit.MachineTimer);
  }
  // riscv,ndev counts the usable sources 1..95. (QEMU 7.2 writes 96, one too many; Linux
  // then also drives a source 96 that does not exist, harmlessly.)
  plicNode
    .setU32('riscv,ndev', PLIC_SOURCE_COUNT - 1)
    .setCells('reg', regCells(PLIC.base, PLIC.size))
    .setCells('interrupts-extended', plicTargets)
    .setEmpty('interrupt-controller')
    .setStringList('compatible', ['sifive,plic-1.0.0', 'riscv,plic0'])
    .setU32('#address-cells', 0)
    .setU32('#interrupt-cells', 1);

  addDevice('clint', CLINT)
    .setCells('interrupts-extended', clintTargets)
    .setCells('reg', regCells(CLINT.base, CLINT.size))
    .setStringList('compatible', ['sifive,clint0', 'riscv,clint0']);

  return root;
}

/** The `virt` device tree as a DTB. */
export function buildVirtDeviceTree(options: VirtDeviceTreeOptions): Uint8Array {
  return serializeDeviceTree(buildVirtDeviceTreeNodes(options));
}
