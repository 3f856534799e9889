// What a Machine hands the guest at boot: in firmware boot the initrd, the DTB and the
// fw_dynamic information block must all fit without overlapping, for any initrd size (an
// OpenSBI + Linux + initramfs boot); the generated device tree carries an rng-seed, as QEMU's.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { parseDeviceTree } from '../../vmm-core/machine/fdt';
import { Machine } from '../../vmm-core/machine/machine';

const image = (fileName: string, length: number) => ({ fileName, bytes: new Uint8Array(length).fill(0x13) });

function firmwareMachine(initrdLength: number): Machine {
  return new Machine({
    bios: image('fw_jump.bin', 0x1000),
    kernel: image('Image', 0x1000),
    initrd: image('init.cpio.gz', initrdLength),
  });
}

describe('firmware boot with an initrd', () => {
  for (const length of [269_910, 4096, 1]) {
    it(`places an initrd of ${length} bytes, the DTB and the fw_dynamic block apart`, () => {
      const machine = firmwareMachine(length);
      const byRole = (role: string) => machine.images.find((loaded) => loaded.role === role)!;
      const initrd = byRole('initrd'), info = byRole('boot-info'), dtb = byRole('dtb');
      assert.equal(initrd.end - initrd.start, length);
      assert.ok(initrd.end <= info.start, 'the initrd ends below the fw_dynamic block');
      assert.ok(info.end <= dtb.start, 'the fw_dynamic block ends below the DTB');
      assert.equal(machine.harts[0].readRegister(12), BigInt(info.start), 'a2 names the block');
      const tree = parseDeviceTree(machine.readPhysical(BigInt(dtb.start), dtb.end - dtb.start)!);
      assert.equal(tree.find('chosen')!.getU32('linux,initrd-start'), initrd.start);
      assert.equal(tree.find('chosen')!.getU32('linux,initrd-end'), initrd.end);
      const magic = machine.readPhysical(BigInt(info.start), 4)!;
      assert.equal(String.fromCharCode(...magic), 'OSBI');
    });
  }
});

describe('the generated device tree', () => {
  const chosenOf = (machine: Machine) => {
    const dtb = machine.images.find((loaded) => loaded.role === 'dtb')!;
    return parseDeviceTree(machine.readPhysical(BigInt(dtb.start), dtb.end - dtb.start)!).find('chosen')!;
  };

  it('has a 32-byte /chosen/rng-seed, the same on every run (Linux crng is ready at once)', () => {
    const seeds = ['builtin', 'firmware'].map((mode) => {
      const machine = mode === 'builtin'
        ? new Machine({ bios: 'builtin', kernel: image('Image', 0x1000) })
        : firmwareMachine(100);
      return chosenOf(machine).getBytes('rng-seed');
    });
    assert.equal(seeds[0]?.length, 32);
    assert.deepEqual(seeds[0], seeds[1], 'deterministic');
  });
});
