// The CPU model option: parsing of QEMU-like model strings (bases, on/off switches, QEMU's
// spellings, one clear error per mistake), what each model implies (ISA string in QEMU 7.2's
// order, misa, which CSRs exist), and its path through MachineConfig, the schema and the device
// tree a machine hands its guest.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { CPU_FEATURES, CpuModelError, DEFAULT_CPU_MODEL, parseCpuModel } from '../../vmm-core/cpu/cpu-model';
import { Csr } from '../../vmm-core/cpu/csr-numbers';
import { ConfigError, MACHINE_OPTIONS_SCHEMA, normalizeMachineConfig } from '../../vmm-core/machine/config';
import { parseDeviceTree } from '../../vmm-core/machine/fdt';
import { csrExists } from '../../vmm-core/monitor/csr';
import { createMachine, readCsrValue } from '../support/assemble';

describe('parseCpuModel', () => {
  it('rv64 is QEMU 7.2\'s default CPU without H; rv64gc is plain RV64GC', () => {
    const rv64 = parseCpuModel('rv64');
    assert.equal(rv64.isaString, 'rv64imafdc_zicsr_zifencei_zihintpause_zba_zbb_zbc_zbs_sstc');
    assert.deepEqual([...rv64.features].sort(), ['sdtrig', 'sstc', 'sv57', 'zba', 'zbb', 'zbc', 'zbs', 'zihintpause']);
    assert.equal(rv64.name, 'rv64');
    assert.equal(DEFAULT_CPU_MODEL.isaString, rv64.isaString);
    const plain = parseCpuModel('rv64gc');
    assert.equal(plain.isaString, 'rv64imafdc_zicsr_zifencei');
    assert.equal(plain.features.size, 0);
    for (const model of [rv64, plain]) {
      assert.equal(model.mmuType, 'riscv,sv48');
      // misa: I M A F D C S U.
      assert.equal(model.misaLow, (1 << 0) | (1 << 2) | (1 << 3) | (1 << 5) | (1 << 8) | (1 << 12) | (1 << 18) | (1 << 20));
    }
  });

  it('switches features on and off, in any case, with QEMU\'s words and property names', () => {
    const model = parseCpuModel('RV64, sstc=off ,ZBB=false,svpbmt=on,Svnapot=yes,debug=no,Zihintpause=off,h=off');
    assert.equal(model.isaString, 'rv64imafdc_zicsr_zifencei_zba_zbc_zbs_svnapot_svpbmt');
    assert.equal(model.sstc, false);
    assert.equal(model.sdtrig, false);
    assert.equal(model.svpbmt, true);
    assert.equal(model.svnapot, true);
    assert.equal(model.sv57, true);
    assert.equal(model.name, 'rv64,zbb=off,zihintpause=off,sstc=off,sdtrig=off,svpbmt=on,svnapot=on');
    // The last word on a feature wins, as in QEMU.
    assert.equal(parseCpuModel('rv64gc,zba=on,zba=off').isaString, 'rv64imafdc_zicsr_zifencei');
    assert.equal(parseCpuModel('rv64gc,sstc=on').isaString, 'rv64imafdc_zicsr_zifencei_sstc');
  });

  it('names what is wrong: an unknown model, an unknown feature, a malformed switch, H', () => {
    const message = (text: string): string => {
      try {
        parseCpuModel(text);
      } catch (error) {
        assert.ok(error instanceof CpuModelError);
        return error.message;
      }
      assert.fail(`'${text}' was accepted`);
    };
    assert.match(message('rv32'), /unknown model 'rv32' \(known: rv64, rv64gc\)/);
    assert.match(message('rv64,zfh=on'), /unknown feature 'zfh' \(known: zba, zbb, zbc, zbs, zihintpause, sstc, sdtrig, sv57, svpbmt, svnapot, and h=off\)/);
    assert.match(message('rv64,sstc'), /'sstc' is not name=on or name=off/);
    assert.match(message('rv64,sstc=maybe'), /'maybe' for sstc is not on\/off/);
    assert.match(message('rv64,h=on'), /H \(the hypervisor extension\) is not implemented/);
    assert.match(message(''), /unknown model ''/);
  });

  it('decides which CSRs exist: menvcfg on privilege-1.12 models, stimecmp with Sstc, triggers with Sdtrig', () => {
    const exists = (cpu: string, csr: number) => csrExists(csr, parseCpuModel(cpu));
    // QEMU 7.2 has menvcfg and senvcfg on its rv64 CPU whatever the features.
    for (const cpu of ['rv64', 'rv64,sstc=off', 'rv64gc,sstc=on', 'rv64gc,svpbmt=on']) {
      assert.ok(exists(cpu, Csr.Menvcfg), cpu);
      assert.ok(exists(cpu, Csr.Senvcfg), cpu);
    }
    // OpenSBI probes menvcfg: plain RV64GC must trap.
    assert.ok(!exists('rv64gc', Csr.Menvcfg));
    assert.ok(!exists('rv64gc', Csr.Senvcfg));
    assert.ok(exists('rv64', Csr.Stimecmp));
    assert.ok(!exists('rv64,sstc=off', Csr.Stimecmp));
    assert.ok(!exists('rv64', 0x15d), 'stimecmph is RV32-only');
    for (const csr of [Csr.Tselect, Csr.Tdata1, Csr.Tdata2, Csr.Tdata3, Csr.Tinfo]) {
      assert.ok(exists('rv64', csr));
      assert.ok(!exists('rv64,sdtrig=off', csr));
    }
    assert.ok(!exists('rv64', 0x7a5), 'no tcontrol in QEMU 7.2');
  });
});

describe('the cpu option of a machine', () => {
  it('defaults to rv64, reaches the harts, misa and the device tree, and refuses a bad model with a ConfigError', () => {
    assert.equal(normalizeMachineConfig({}).cpu.name, 'rv64');
    assert.equal(normalizeMachineConfig({ cpu: 'rv64gc' }).cpu.isaString, 'rv64imafdc_zicsr_zifencei');
    assert.throws(() => normalizeMachineConfig({ cpu: 'rv64,zbb=maybe' }), (error: unknown) =>
      error instanceof ConfigError && /cpu model 'rv64,zbb=maybe'/.test(error.message));

    const machine = createMachine({ cpu: 'rv64,svpbmt=on', hartCount: 2 });
    for (const hart of machine.harts) assert.equal(hart.cpu.svpbmt, true);
    const misa = readCsrValue(machine, Csr.Misa);
    assert.equal(misa >> 62n, 2n);
    assert.equal(Number(misa & 0x3ff_ffffn), machine.harts[0].cpu.misaLow);
    const dtb = machine.readPhysical(BigInt(machine.dtbAddress), 0x4000)!;
    const cpuNode = parseDeviceTree(dtb).find('/cpus/cpu@1')!;
    assert.equal(cpuNode.getString('riscv,isa'), 'rv64imafdc_zicsr_zifencei_zihintpause_zba_zbb_zbc_zbs_sstc_svpbmt');
    assert.equal(cpuNode.getString('mmu-type'), 'riscv,sv48');
  });

  it('is in the machine options schema, whose pattern accepts what the parser accepts', () => {
    const property = MACHINE_OPTIONS_SCHEMA.properties.cpu;
    assert.equal(property.type, 'string');
    assert.equal(property.default, 'rv64');
    const pattern = new RegExp(property.pattern);
    for (const good of ['rv64', 'rv64gc', 'RV64,sstc=off', 'rv64,svpbmt=on,svnapot=on', 'rv64,Zihintpause=false']) {
      assert.ok(pattern.test(good), good);
      parseCpuModel(good);
    }
    for (const bad of ['rv32', 'rv64,', 'rv64,sstc', 'rv64 gc']) assert.ok(!pattern.test(bad), bad);
    for (const feature of Object.keys(CPU_FEATURES)) assert.ok(property.description.includes(feature), feature);
  });
});
