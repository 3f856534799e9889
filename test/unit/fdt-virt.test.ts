import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseCpuModel } from '../../vmm-core/cpu/cpu-model';
import { buildVirtDeviceTree } from '../../vmm-core/machine/device-tree';
import { DeviceTreeNode, parseDeviceTree } from '../../vmm-core/machine/fdt';
import { ISA_STRING, PLIC_SOURCE_COUNT, RAM_BASE, VIRTIO_MMIO_SLOTS } from '../../vmm-core/machine/layout';
import { requireTool } from '../support/tools';

const hasTool = (command: string, args: string[]): boolean => spawnSync(command, args, { stdio: 'ignore' }).status === 0;
const hasDtc = hasTool('dtc', ['--version']);
const hasQemu = hasTool('qemu-system-riscv64', ['--version']);

const RAM_SIZE = 128 * 1024 * 1024;
/** Any RV64 ELF: QEMU only accepts -append together with -kernel. */
const KERNEL = join(__dirname, '../fixtures/elf/htif-hello.elf');
const build = (extra: Partial<Parameters<typeof buildVirtDeviceTree>[0]> = {}) =>
  buildVirtDeviceTree({ ramBase: RAM_BASE, ramSize: RAM_SIZE, hartCount: 2, ...extra });

function phandleTargets(root: DeviceTreeNode): Map<number, string> {
  const targets = new Map<number, string>();
  const walk = (node: DeviceTreeNode, path: string) => {
    const phandle = node.getU32('phandle');
    if (phandle !== undefined) targets.set(phandle, path || '/');
    for (const child of node.children) walk(child, `${path}/${child.name}`);
  };
  walk(root, '');
  return targets;
}

test('virt tree: root, chosen, aliases, memory', () => {
  const root = parseDeviceTree(build({ bootargs: 'console=ttyS0 earlycon', initrdStart: 0x8400_0000, initrdEnd: 0x8410_0000, rngSeed: Uint8Array.of(1, 2, 3, 4) }));
  assert.equal(root.getU32('#address-cells'), 2);
  assert.equal(root.getU32('#size-cells'), 2);
  assert.equal(root.getString('compatible'), 'riscv-virtio');
  const chosen = root.find('/chosen')!;
  assert.equal(chosen.getString('bootargs'), 'console=ttyS0 earlycon');
  assert.equal(chosen.getString('stdout-path'), '/soc/serial@10000000');
  assert.equal(chosen.getU32('linux,initrd-start'), 0x8400_0000);
  assert.equal(chosen.getU32('linux,initrd-end'), 0x8410_0000);
  assert.deepEqual([...chosen.getBytes('rng-seed')!], [1, 2, 3, 4]);
  assert.equal(root.find('/aliases')!.getString('serial0'), '/soc/serial@10000000');
  const memory = root.find('/memory@80000000')!;
  assert.equal(memory.getString('device_type'), 'memory');
  assert.deepEqual(memory.getCells('reg'), [0, RAM_BASE, 0, RAM_SIZE]);
});

test('virt tree: optional chosen properties are absent unless given', () => {
  const chosen = parseDeviceTree(build()).find('/chosen')!;
  assert.equal(chosen.has('bootargs'), false);
  assert.equal(chosen.has('linux,initrd-start'), false);
  assert.equal(chosen.has('rng-seed'), false);
  assert.equal(parseDeviceTree(build({ stdoutPath: '/hvc' })).find('/chosen')!.getString('stdout-path'), '/hvc');
});

test('virt tree: cpus with interrupt controllers and cpu-map', () => {
  const root = parseDeviceTree(build({ hartCount: 3 }));
  const cpus = root.find('/cpus')!;
  assert.equal(cpus.getU32('timebase-frequency'), 10_000_000);
  assert.equal(cpus.getU32('#address-cells'), 1);
  assert.equal(cpus.getU32('#size-cells'), 0);
  for (let hart = 0; hart < 3; hart++) {
    const cpu = cpus.child(`cpu@${hart}`)!;
    assert.equal(cpu.getString('device_type'), 'cpu');
    assert.equal(cpu.getU32('reg'), hart);
    assert.equal(cpu.getString('status'), 'okay');
    assert.equal(cpu.getString('compatible'), 'riscv');
    assert.equal(cpu.getString('riscv,isa'), ISA_STRING);
    assert.equal(cpu.getString('mmu-type'), 'riscv,sv48');
    const intc = cpu.child('interrupt-controller')!;
    assert.equal(intc.getU32('#interrupt-cells'), 1);
    assert.equal(intc.has('interrupt-controller'), true);
    assert.equal(intc.getString('compatible'), 'riscv,cpu-intc');
    assert.ok(intc.getU32('phandle')! > 0);
    assert.equal(root.find(`/cpus/cpu-map/cluster0/core${hart}`)!.getU32('cpu'), cpu.getU32('phandle'));
  }
});

test('virt tree: soc devices wired to the PLIC and the harts', () => {
  const root = parseDeviceTree(build());
  const targets = phandleTargets(root);
  const soc = root.find('/soc')!;
  assert.equal(soc.getString('compatible'), 'simple-bus');
  assert.equal(soc.has('ranges'), true);
  const plic = soc.child('plic@c000000')!;
  const plicPhandle = plic.getU32('phandle')!;
  assert.equal(plic.getU32('riscv,ndev'), PLIC_SOURCE_COUNT - 1);
  assert.deepEqual(plic.getStringList('compatible'), ['sifive,plic-1.0.0', 'riscv,plic0']);
  assert.equal(plic.getU32('#address-cells'), 0);
  assert.equal(plic.getU32('#interrupt-cells'), 1);
  assert.equal(plic.has('interrupt-controller'), true);
  const intc = (hart: number) => root.find(`/cpus/cpu@${hart}/interrupt-controller`)!.getU32('phandle')!;
  assert.deepEqual(plic.getCells('interrupts-extended'), [intc(0), 11, intc(0), 9, intc(1), 11, intc(1), 9]);
  const clint = soc.child('clint@2000000')!;
  assert.deepEqual(clint.getStringList('compatible'), ['sifive,clint0', 'riscv,clint0']);
  assert.deepEqual(clint.getCells('interrupts-extended'), [intc(0), 3, intc(0), 7, intc(1), 3, intc(1), 7]);
  assert.deepEqual(clint.getCells('reg'), [0, 0x200_0000, 0, 0x1_0000]);

  const serial = soc.child('serial@10000000')!;
  assert.equal(serial.getString('compatible'), 'ns16550a');
  assert.equal(serial.getU32('clock-frequency'), 0x38_4000);
  assert.equal(serial.getU32('interrupts'), 10);
  assert.equal(serial.getU32('interrupt-parent'), plicPhandle);
  const rtc = soc.child('rtc@101000')!;
  assert.equal(rtc.getString('compatible'), 'google,goldfish-rtc');
  assert.equal(rtc.getU32('interrupts'), 11);
  const testNode = soc.child('test@100000')!;
  assert.deepEqual(testNode.getStringList('compatible'), ['sifive,test1', 'sifive,test0', 'syscon']);
  for (const [name, value] of [['poweroff', 0x5555], ['reboot', 0x7777]] as const) {
    const node = root.find(`/${name}`)!;
    assert.equal(node.getString('compatible'), `syscon-${name}`);
    assert.equal(node.getU32('value'), value);
    assert.equal(node.getU32('offset'), 0);
    assert.equal(targets.get(node.getU32('regmap')!), '/soc/test@100000');
  }
  const virtio = soc.children.filter((node) => node.name.startsWith('virtio_mmio@'));
  assert.equal(virtio.length, VIRTIO_MMIO_SLOTS);
  assert.equal(virtio[0].name, 'virtio_mmio@10008000', 'QEMU lists the slots highest first');
  for (const node of virtio) {
    const base = node.getCells('reg')![1];
    assert.equal(node.getString('compatible'), 'virtio,mmio');
    assert.equal(node.getU32('interrupts'), 1 + (base - 0x1000_1000) / 0x1000);
    assert.equal(node.getU32('interrupt-parent'), plicPhandle);
  }
});

test('virt tree: invalid options are refused', () => {
  assert.throws(() => build({ hartCount: 0 }), /hart count/);
  assert.throws(() => build({ hartCount: 9 }), /hart count/);
  assert.throws(() => build({ initrdStart: 0x8400_0000 }), /together/);
  assert.throws(() => build({ initrdStart: 0x8400_0000, initrdEnd: 0x8300_0000 }), /below/);
});

test('virt tree decompiles with dtc (needs dtc)', () => {
  requireTool(!hasDtc && 'dtc not installed (scripts/install-deps.sh)');
  const directory = mkdtempSync(join(tmpdir(), 'ringside-dtb-'));
  try {
    const file = join(directory, 'virt.dtb');
    writeFileSync(file, build({ bootargs: 'console=ttyS0', initrdStart: 0x8400_0000, initrdEnd: 0x8410_0000 }));
    const result = spawnSync('dtc', ['-I', 'dtb', '-O', 'dts', file], { encoding: 'utf8' });
    assert.equal(result.status, 0, result.stderr);
    // The only warnings are the ones QEMU's own tree gets (cpu-intc nodes without #address-cells).
    const warnings = result.stderr.split('\n').filter((line) => line.includes('Warning') && !line.includes('interrupt_provider'));
    assert.deepEqual(warnings, []);
    for (const expected of ['cpu@1 {', 'riscv,isa = "' + ISA_STRING, 'plic@c000000 {', 'clint@2000000 {', 'serial@10000000 {', 'bootargs = "console=ttyS0"', 'linux,initrd-start = <0x84000000>', 'syscon-poweroff']) {
      assert.ok(result.stdout.includes(expected), `dtc output lacks ${expected}`);
    }
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
});

/** Property values with phandles replaced by the paths they point to. */
function normalized(root: DeviceTreeNode): Map<string, string> {
  const targets = phandleTargets(root);
  const result = new Map<string, string>();
  const walk = (node: DeviceTreeNode, path: string) => {
    for (const [name, value] of node.properties) {
      if (name === 'phandle') continue;
      let text: string;
      if (name === 'interrupt-parent' || name === 'regmap' || name === 'cpu') {
        text = targets.get(node.getU32(name)!) ?? 'dangling';
      } else if (name === 'interrupts-extended') {
        const cells = node.getCells(name)!;
        text = cells.map((cell, index) => (index % 2 === 0 ? targets.get(cell) ?? 'dangling' : String(cell))).join(' ');
      } else {
        text = Buffer.from(value).toString('hex');
      }
      result.set(`${path || '/'}:${name}`, text);
    }
    result.set(`${path || '/'}/`, node.children.map((child) => child.name).join(','));
    for (const child of node.children) walk(child, `${path}/${child.name}`);
  };
  walk(root, '');
  return result;
}

test('virt tree matches QEMU 7.2 dumpdtb for the devices Ringside has (needs qemu-system-riscv64)', () => {
  requireTool(!hasQemu && 'qemu-system-riscv64 not installed (scripts/install-deps.sh)');
  const directory = mkdtempSync(join(tmpdir(), 'ringside-qemu-dtb-'));
  try {
    const file = join(directory, 'qemu-virt.dtb');
    // QEMU's default CPU without H (which Ringside does not implement) is Ringside's default model.
    const result = spawnSync('qemu-system-riscv64', ['-M', `virt,dumpdtb=${file}`, '-cpu', 'rv64,h=false', '-smp', '2', '-m', '128M', '-nographic', '-bios', 'none', '-kernel', KERNEL, '-append', 'console=ttyS0'], { encoding: 'utf8' });
    assert.equal(result.status, 0, result.stderr);
    const qemu = normalized(parseDeviceTree(readFileSync(file)));
    const ours = normalized(parseDeviceTree(build({ bootargs: 'console=ttyS0' })));
    // Documented differences: nodes for devices Ringside does not have, our /aliases, riscv,ndev
    // (QEMU 7.2 says 96, one more than the sources that exist), QEMU's random rng-seed, and
    // child lists that contain those nodes. The ISA string and mmu-type are compared.
    const qemuOnlyNodes = ['/pmu', '/fw-cfg@10100000', '/flash@20000000', '/platform-bus@4000000', '/soc/pci@30000000'];
    const ignored = (key: string) =>
      qemuOnlyNodes.some((node) => key.startsWith(`${node}:`) || key.startsWith(`${node}/`)) ||
      key.startsWith('/aliases') ||
      key === '/soc/plic@c000000:riscv,ndev' ||
      key === '/chosen:rng-seed' ||
      key === '//' ||
      key === '/soc/' ||
      key === '/chosen/';
    const differences: string[] = [];
    let compared = 0;
    for (const [key, value] of qemu) {
      if (ignored(key)) continue;
      compared++;
      if (!ours.has(key)) differences.push(`missing ${key}`);
      else if (ours.get(key) !== value) differences.push(`${key}: ours ${ours.get(key)} QEMU ${value}`);
    }
    for (const key of ours.keys()) if (!ignored(key) && !qemu.has(key)) differences.push(`extra ${key}`);
    assert.deepEqual(differences, []);
    assert.ok(compared > 100, `only ${compared} properties compared`);
    // Child order under /soc, without PCI, is QEMU's.
    const qemuSoc = qemu.get('/soc/')!.split(',').filter((name) => name !== 'pci@30000000');
    assert.deepEqual(ours.get('/soc/')!.split(','), qemuSoc);
    assert.equal(ours.get('/soc/plic@c000000:riscv,ndev'), '0000005f');
    assert.equal(qemu.get('/soc/plic@c000000:riscv,ndev'), '00000060');
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
});

test('riscv,isa and mmu-type of each CPU model match QEMU 7.2 with the same -cpu (needs qemu-system-riscv64)', () => {
  requireTool(!hasQemu && 'qemu-system-riscv64 not installed (scripts/install-deps.sh)');
  const directory = mkdtempSync(join(tmpdir(), 'ringside-qemu-cpu-'));
  const pairs: ReadonlyArray<[string, string]> = [
    ['rv64', 'rv64,h=false'],
    ['rv64,svpbmt=on,svnapot=on', 'rv64,h=false,svpbmt=on,svnapot=on'],
    ['rv64,sstc=off,zbc=off', 'rv64,h=false,sstc=false,zbc=false'],
    ['rv64gc', 'rv64,h=false,zba=false,zbb=false,zbc=false,zbs=false,Zihintpause=false,sstc=false'],
    ['rv64,h=false,Zihintpause=off,zba=off,zbb=off,zbc=off,zbs=off,sstc=off', 'rv64,h=false,zba=false,zbb=false,zbc=false,zbs=false,Zihintpause=false,sstc=false'],
  ];
  try {
    for (const [ours, qemuCpu] of pairs) {
      const file = join(directory, 'cpu.dtb');
      const result = spawnSync('qemu-system-riscv64', ['-M', `virt,dumpdtb=${file}`, '-cpu', qemuCpu, '-nographic', '-bios', 'none'], { encoding: 'utf8' });
      assert.equal(result.status, 0, result.stderr);
      const qemuCpuNode = parseDeviceTree(readFileSync(file)).find('/cpus/cpu@0')!;
      const ourCpuNode = parseDeviceTree(build({ cpu: parseCpuModel(ours) })).find('/cpus/cpu@0')!;
      assert.equal(ourCpuNode.getString('riscv,isa'), qemuCpuNode.getString('riscv,isa'), ours);
      assert.equal(ourCpuNode.getString('mmu-type'), qemuCpuNode.getString('mmu-type'), ours);
    }
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
});
