// The A extension: every AMO against BigInt on random operands (W forms sign-extend what they
// return and compare as 32-bit values), LR/SC reservations (consumed by SC, dropped by traps),
// and the exceptions of misaligned and non-RAM atomics.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { ExceptionCause, Privilege } from '../../vmm-core/cpu/csr-numbers';
import {
  createMachine, encode, NO_TRAP, readDoubleword, runInstructions, SeededRandom, writeDoubleword, X,
} from '../support/assemble';
import { s32, s64, u32, u64 } from '../support/integers';

const DATA = 0x8000_2000n;
const M = Privilege.Machine;

/** New memory value from the old one and rs2, for the doubleword AMOs (W forms use the low words). */
const OPERATIONS: Record<string, (old: bigint, source: bigint, word: boolean) => bigint> = {
  amoswap: (_old, source) => source,
  amoadd: (old, source) => old + source,
  amoxor: (old, source) => old ^ source,
  amoand: (old, source) => old & source,
  amoor: (old, source) => old | source,
  amomin: (old, source, word) => ((word ? s32(old) < s32(source) : s64(old) < s64(source)) ? old : source),
  amomax: (old, source, word) => ((word ? s32(old) > s32(source) : s64(old) > s64(source)) ? old : source),
  amominu: (old, source, word) => ((word ? u32(old) < u32(source) : u64(old) < u64(source)) ? old : source),
  amomaxu: (old, source, word) => ((word ? u32(old) > u32(source) : u64(old) > u64(source)) ? old : source),
};

describe('AMOs against BigInt', () => {
  const machine = createMachine();
  const hart = machine.harts[0];
  const random = new SeededRandom(0xa70_1c5n);
  const SPECIAL = [0n, 1n, -1n, 0x7fff_ffffn, 0x8000_0000n, 0xffff_ffffn, -(1n << 63n), (1n << 63n) - 1n, 0x1_0000_0000n];
  const value = () => (random.below(3) === 0 ? s64(random.pick(SPECIAL)) : s64(random.next64()));

  for (const [name, operation] of Object.entries(OPERATIONS)) {
    for (const width of ['w', 'd'] as const) {
      it(`${name}.${width}: 500 random cases`, () => {
        const word = width === 'w';
        const instruction = encode(`${name}.${width}`, { rd: X.a0, rs1: X.s1, rs2: X.a1 });
        for (let trial = 0; trial < 500; trial++) {
          const old = value(), source = value();
          // The neighbouring word must survive a W operation.
          writeDoubleword(machine, DATA, old);
          const address = word && random.below(2) === 1 ? DATA + 4n : DATA;
          const oldAtAddress = address === DATA ? old : old >> 32n;
          const outcome = runInstructions(machine, M, [instruction], [[X.s1, address], [X.a1, source]]);
          assert.equal(outcome.cause, NO_TRAP);
          const label = `${name}.${width} old=${old} rs2=${source} at +${address - DATA}`;
          if (word) {
            const oldWord = u32(oldAtAddress);
            assert.equal(hart.readRegister(X.a0), s32(oldWord), `${label}: rd is the old word, sign-extended`);
            const updated = u32(operation(oldWord, u32(source), true));
            const expected = address === DATA ? (u64(old) & ~0xffff_ffffn) | updated : (updated << 32n) | u32(old);
            assert.equal(readDoubleword(machine, DATA), expected, `${label}: memory`);
          } else {
            assert.equal(hart.readRegister(X.a0), old, `${label}: rd`);
            assert.equal(readDoubleword(machine, DATA), u64(operation(old, source, false)), `${label}: memory`);
          }
        }
      });
    }
  }
});

describe('LR/SC', () => {
  const lr = (width: 'w' | 'd') => encode(`lr.${width}`, { rd: X.a0, rs1: X.s1 });
  const sc = (width: 'w' | 'd') => encode(`sc.${width}`, { rd: X.a1, rs1: X.s1, rs2: X.a2 });

  it('SC succeeds once after LR to the same address, and fails without a reservation', () => {
    const machine = createMachine();
    const hart = machine.harts[0];
    writeDoubleword(machine, DATA, 0xffff_ffff_8000_0001n);
    runInstructions(machine, M, [sc('d')], [[X.s1, DATA], [X.a2, 5n]]);
    assert.equal(hart.readRegister(X.a1), 1n, 'no reservation: failure code 1');
    assert.equal(readDoubleword(machine, DATA), 0xffff_ffff_8000_0001n, 'and no store');

    runInstructions(machine, M, [lr('w'), sc('w'), sc('w')], [[X.s1, DATA], [X.a2, 7n]], 2);
    assert.equal(hart.readRegister(X.a0), s32(0x8000_0001n), 'lr.w sign-extends');
    assert.equal(hart.readRegister(X.a1), 0n, 'success code 0');
    assert.equal(readDoubleword(machine, DATA), 0xffff_ffff_0000_0007n);
    runInstructions(machine, M, [sc('w')], [[X.a2, 9n]]);
    assert.equal(hart.readRegister(X.a1), 1n, 'the reservation was consumed');
  });

  it('SC to another address than the reservation fails', () => {
    const machine = createMachine();
    const hart = machine.harts[0];
    runInstructions(machine, M, [lr('d'), encode('sc.d', { rd: X.a1, rs1: X.s2, rs2: X.a2 })], [[X.s1, DATA], [X.s2, DATA + 8n], [X.a2, 3n]]);
    assert.equal(hart.readRegister(X.a1), 1n);
    assert.equal(readDoubleword(machine, DATA + 8n), 0n);
  });

  it('a trap between LR and SC drops the reservation', () => {
    const machine = createMachine();
    const hart = machine.harts[0];
    hart.mtvecLo = 0x8000_1008; // the handler is the sc itself
    runInstructions(machine, M, [lr('d'), encode('ecall'), sc('d')], [[X.s1, DATA], [X.a2, 3n]]);
    assert.equal(hart.mcauseLo, ExceptionCause.EnvironmentCallFromMachine);
    assert.equal(hart.readRegister(X.a1), 1n);
    assert.equal(readDoubleword(machine, DATA), 0n);
  });
});

describe('atomic exceptions', () => {
  it('misaligned: LR raises a load address-misaligned exception, SC and AMOs a store/AMO one', () => {
    const machine = createMachine();
    for (const [mnemonic, offset, cause] of [
      ['lr.w', 2n, ExceptionCause.LoadAddressMisaligned],
      ['lr.d', 4n, ExceptionCause.LoadAddressMisaligned],
      ['amoadd.w', 1n, ExceptionCause.StoreAddressMisaligned],
      ['amoswap.d', 4n, ExceptionCause.StoreAddressMisaligned],
    ] as const) {
      const outcome = runInstructions(machine, M, [encode(mnemonic, { rd: X.a0, rs1: X.s1, rs2: X.a1 })], [[X.s1, DATA + offset]]);
      assert.equal(outcome.cause, cause, mnemonic);
      assert.equal(outcome.tval, DATA + offset);
    }
    // SC checks alignment before the reservation.
    const outcome = runInstructions(machine, M, [encode('sc.d', { rd: X.a0, rs1: X.s1, rs2: X.a1 })], [[X.s1, DATA + 4n]]);
    assert.equal(outcome.cause, ExceptionCause.StoreAddressMisaligned);
  });

  it('an AMO outside RAM is a store/AMO access fault; LR there a load access fault', () => {
    const machine = createMachine();
    const amo = runInstructions(machine, M, [encode('amoor.w', { rd: X.a0, rs1: X.s1, rs2: X.a1 })], [[X.s1, 0x1000_0000n]]);
    assert.equal(amo.cause, ExceptionCause.StoreAccessFault);
    assert.equal(amo.tval, 0x1000_0000n);
    const loadReserved = runInstructions(machine, M, [encode('lr.w', { rd: X.a0, rs1: X.s1 })], [[X.s1, 0x4000n]]);
    assert.equal(loadReserved.cause, ExceptionCause.LoadAccessFault);
  });
});
