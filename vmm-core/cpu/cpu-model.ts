// The CPU model: which optional extensions a hart implements. The default is QEMU 7.2's default
// `rv64` CPU without H (the hypervisor extension, which Ringside does not implement), so a guest
// built for QEMU's `virt` board takes the same paths here. The ISA string of the device tree,
// misa, `mmu-type`, the decoder's instruction set, the CSRs that exist and the MMU's paging modes
// all derive from the model.

import { extensionMask, type Extension } from '../isa/table';

/** The features a model can switch: `name=on` / `name=off` in a model string. */
export type CpuFeature =
  | 'zba' | 'zbb' | 'zbc' | 'zbs' | 'zihintpause' | 'sstc' | 'sdtrig' | 'sv57' | 'svpbmt' | 'svnapot';

/** What each feature is, for errors, the schema and documentation. */
export const CPU_FEATURES: Readonly<Record<CpuFeature, string>> = {
  zba: 'Zba: address generation (sh1add..sh3add, add.uw, slli.uw)',
  zbb: 'Zbb: basic bit manipulation (andn, clz, cpop, min/max, rev8, rol/ror, sext/zext, ...)',
  zbc: 'Zbc: carry-less multiplication (clmul, clmulh, clmulr)',
  zbs: 'Zbs: single-bit instructions (bset, bclr, binv, bext)',
  zihintpause: 'Zihintpause: the pause hint',
  sstc: 'Sstc: the supervisor timer compare CSR stimecmp (menvcfg.STCE)',
  sdtrig: 'Sdtrig: debug triggers tselect/tdata1-3/tinfo (QEMU\'s "debug" property)',
  sv57: 'Sv57: five-level paging (satp.MODE 10)',
  svpbmt: 'Svpbmt: page-based memory types (PTE bits 62:61, menvcfg.PBMTE)',
  svnapot: 'Svnapot: 64 KiB NAPOT pages (PTE bit 63)',
};

/** The model names a string may start with. */
export type CpuModelBase = 'rv64' | 'rv64gc';

const BASE_FEATURES: Readonly<Record<CpuModelBase, ReadonlySet<CpuFeature>>> = {
  // QEMU 7.2 target/riscv/cpu.c: zba/zbb/zbc/zbs, Zihintpause, sstc and debug default on;
  // svpbmt and svnapot default off; satp accepts Sv57.
  rv64: new Set<CpuFeature>(['zba', 'zbb', 'zbc', 'zbs', 'zihintpause', 'sstc', 'sdtrig', 'sv57']),
  rv64gc: new Set<CpuFeature>(),
};

/** QEMU property names accepted as spellings of ours. */
const ALIASES: Readonly<Record<string, CpuFeature>> = { debug: 'sdtrig' };

export const DEFAULT_CPU_MODEL_NAME = 'rv64';

/** QEMU 7.2's default `pmu-num`: mhpmcounter3..18 exist (OpenSBI reports "MHPM Count: 16"). */
const QEMU_PMU_COUNTERS = 16;

/** misa bits 25:0 of every model: I M A F D C, and S and U. */
const MISA_LETTERS = 'imafdcsu';

export interface CpuModel {
  /** The model string in canonical form: base, then every feature that differs from it. */
  readonly name: string;
  readonly base: CpuModelBase;
  readonly features: ReadonlySet<CpuFeature>;
  /** `riscv,isa` of the device tree, in QEMU 7.2's order. */
  readonly isaString: string;
  /** `mmu-type` of the device tree. */
  readonly mmuType: 'riscv,sv48';
  /** misa bits 31:0 (the extension letters). */
  readonly misaLow: number;
  /** The decoder's enabled-extension mask (isa/table.ts). */
  readonly extensionMask: number;
  /**
   * menvcfg and senvcfg exist: a privileged-spec 1.12 hart. QEMU 7.2's `rv64` has them whatever
   * its features; plain RV64GC has them only when Sstc or Svpbmt needs menvcfg.
   */
  readonly envcfg: boolean;
  readonly sstc: boolean;
  readonly sdtrig: boolean;
  readonly sv57: boolean;
  readonly svpbmt: boolean;
  readonly svnapot: boolean;
  /**
   * Programmable performance counters, mhpmcounter3 onwards (QEMU's `pmu-num`). QEMU 7.2's rv64
   * has 16 (mhpmcounter3..18, which hold what is written; the ones above raise an
   * illegal-instruction exception), its mhpmevent3..31 hold what is written and its
   * mcounteren/scounteren keep all 32 bits. No event makes a counter count here. 0 (plain
   * RV64GC): every hpm counter and event reads as zero and ignores writes, and only the CY, TM
   * and IR bits of mcounteren/scounteren are writable.
   */
  readonly hpmCounters: number;
}

export class CpuModelError extends Error {
  override name = 'CpuModelError';
}

const FEATURE_NAMES = Object.keys(CPU_FEATURES) as CpuFeature[];
const TRUE_WORDS = new Set(['on', 'true', 'yes']);
const FALSE_WORDS = new Set(['off', 'false', 'no']);

/**
 * Parses a QEMU-like model string: `rv64` (QEMU 7.2's default CPU without H), `rv64gc` (plain
 * RV64GC), each optionally followed by `,feature=on|off` (also true/false, yes/no), e.g.
 * `rv64,sstc=off,svpbmt=on`. Feature names are case-insensitive; QEMU's `debug` means sdtrig,
 * and `h=off` is accepted (H is never implemented). Throws CpuModelError naming what is wrong.
 */
export function parseCpuModel(text: string): CpuModel {
  const parts = text.split(',').map((part) => part.trim());
  const baseName = parts[0].toLowerCase();
  if (baseName !== 'rv64' && baseName !== 'rv64gc') {
    throw new CpuModelError(`cpu model '${text}': unknown model '${parts[0]}' (known: rv64, rv64gc)`);
  }
  const base = baseName as CpuModelBase;
  const features = new Set(BASE_FEATURES[base]);
  for (const part of parts.slice(1)) {
    const match = /^([A-Za-z0-9_-]+)=([A-Za-z]+)$/.exec(part);
    if (match === null) throw new CpuModelError(`cpu model '${text}': '${part}' is not name=on or name=off`);
    const rawName = match[1].toLowerCase();
    const word = match[2].toLowerCase();
    if (!TRUE_WORDS.has(word) && !FALSE_WORDS.has(word)) {
      throw new CpuModelError(`cpu model '${text}': '${match[2]}' for ${match[1]} is not on/off (true/false, yes/no)`);
    }
    const enable = TRUE_WORDS.has(word);
    if (rawName === 'h') {
      if (enable) throw new CpuModelError(`cpu model '${text}': H (the hypervisor extension) is not implemented`);
      continue;
    }
    const name = (ALIASES[rawName] ?? rawName) as CpuFeature;
    if (!(name in CPU_FEATURES)) {
      throw new CpuModelError(`cpu model '${text}': unknown feature '${match[1]}' (known: ${FEATURE_NAMES.join(', ')}, and h=off)`);
    }
    if (enable) features.add(name); else features.delete(name);
  }
  return buildModel(base, features);
}

function buildModel(base: CpuModelBase, features: ReadonlySet<CpuFeature>): CpuModel {
  const has = (feature: CpuFeature) => features.has(feature);
  const differences = FEATURE_NAMES
    .filter((feature) => has(feature) !== BASE_FEATURES[base].has(feature))
    .map((feature) => `${feature}=${has(feature) ? 'on' : 'off'}`);
  // QEMU 7.2's riscv_isa_string: the letters, then the multi-letter extensions in its table's order.
  const multiLetter = ['zicsr', 'zifencei'];
  for (const feature of ['zihintpause', 'zba', 'zbb', 'zbc', 'zbs', 'sstc', 'svnapot', 'svpbmt'] as const) {
    if (has(feature)) multiLetter.push(feature);
  }
  const decoderExtensions: Extension[] = [];
  if (has('zihintpause')) decoderExtensions.push('Zihintpause');
  if (has('zba')) decoderExtensions.push('Zba');
  if (has('zbb')) decoderExtensions.push('Zbb');
  if (has('zbc')) decoderExtensions.push('Zbc');
  if (has('zbs')) decoderExtensions.push('Zbs');
  let misaLow = 0;
  for (const letter of MISA_LETTERS) misaLow |= 1 << (letter.charCodeAt(0) - 97);
  return {
    name: [base, ...differences].join(','),
    base,
    features,
    isaString: `rv64imafdc_${multiLetter.join('_')}`,
    // QEMU 7.2 writes Sv48 for every 64-bit CPU, although its satp also takes Sv57; kernels
    // probe satp rather than trust this property.
    mmuType: 'riscv,sv48',
    misaLow,
    extensionMask: extensionMask(decoderExtensions),
    envcfg: base === 'rv64' || has('sstc') || has('svpbmt'),
    sstc: has('sstc'),
    sdtrig: has('sdtrig'),
    sv57: has('sv57'),
    svpbmt: has('svpbmt'),
    svnapot: has('svnapot'),
    hpmCounters: base === 'rv64' ? QEMU_PMU_COUNTERS : 0,
  };
}

/** QEMU 7.2's default CPU (without H). */
export const DEFAULT_CPU_MODEL: CpuModel = parseCpuModel(DEFAULT_CPU_MODEL_NAME);

/** Every feature on: what tools that describe "any model" (CSR lists) assume. */
export const FULL_CPU_MODEL: CpuModel = buildModel('rv64', new Set(FEATURE_NAMES));
