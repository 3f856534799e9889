// Register and CSR names shared by the disassembler, the debugger and the UI.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import {
  CSR_DEFINITIONS, csrName, csrNumber, formatCsr, floatRegisterName, integerRegisterName,
  parseFloatRegister, parseIntegerRegister,
} from '../../vmm-core/isa';

describe('register names', () => {
  it('uses the ABI names', () => {
    assert.deepEqual([0, 1, 2, 3, 4, 5, 8, 10, 17, 18, 27, 28, 31].map(integerRegisterName),
      ['zero', 'ra', 'sp', 'gp', 'tp', 't0', 's0', 'a0', 'a7', 's2', 's11', 't3', 't6']);
    assert.deepEqual([0, 7, 8, 9, 10, 17, 18, 27, 28, 31].map(floatRegisterName),
      ['ft0', 'ft7', 'fs0', 'fs1', 'fa0', 'fa7', 'fs2', 'fs11', 'ft8', 'ft11']);
  });

  it('parses numeric, ABI and fp names', () => {
    for (let index = 0; index < 32; index++) {
      assert.equal(parseIntegerRegister(`x${index}`), index);
      assert.equal(parseIntegerRegister(integerRegisterName(index)), index);
      assert.equal(parseFloatRegister(`f${index}`), index);
      assert.equal(parseFloatRegister(floatRegisterName(index)), index);
    }
    assert.equal(parseIntegerRegister('fp'), 8);
    assert.equal(parseIntegerRegister(' SP '), 2);
    assert.equal(parseIntegerRegister('x32'), undefined);
    assert.equal(parseFloatRegister('a0'), undefined);
  });
});

describe('CSR names', () => {
  it('names the common CSRs and prints unknown numbers in hex', () => {
    assert.equal(csrName(0x300), 'mstatus');
    assert.equal(csrName(0x180), 'satp');
    assert.equal(csrName(0xc01), 'time');
    assert.equal(csrName(0x3ef), 'pmpaddr63');
    assert.equal(csrName(0xb9f), 'mhpmcounter31h');
    assert.equal(csrName(0x7c0), undefined);
    assert.equal(formatCsr(0x7c0), '0x7c0');
    assert.equal(formatCsr(0x000), '0x0');
    assert.equal(formatCsr(0x305), 'mtvec');
  });

  it('follows the privileged-spec version', () => {
    assert.equal(csrName(0x000, '1.11'), 'ustatus');
    assert.equal(csrName(0x000, '1.12'), undefined);
    assert.equal(csrName(0x102, '1.10'), 'sedeleg');
    assert.equal(csrName(0x320, '1.10'), undefined);
    assert.equal(csrName(0x320, '1.11'), 'mcountinhibit');
    assert.equal(csrName(0x30a, '1.11'), undefined);
    assert.equal(csrName(0x30a, '1.12'), 'menvcfg');
    assert.equal(csrName(0x3af, '1.11'), undefined);
    assert.equal(csrName(0x3a3, '1.11'), 'pmpcfg3');
  });

  it('maps names back to numbers', () => {
    assert.equal(csrNumber('mepc'), 0x341);
    assert.equal(csrNumber('MHARTID'), 0xf14);
    assert.equal(csrNumber('ustatus'), undefined);
    assert.equal(csrNumber('ustatus', '1.11'), 0x000);
    assert.equal(csrNumber('nonsense'), undefined);
  });

  it('has no number or name defined twice within a version', () => {
    for (const version of ['1.10', '1.11', '1.12'] as const) {
      const numbers = new Set<number>();
      const names = new Set<string>();
      for (const definition of CSR_DEFINITIONS) {
        if (csrName(definition.number, version) !== definition.name) continue;
        assert.ok(!numbers.has(definition.number), `${version}: ${definition.number.toString(16)} twice`);
        assert.ok(!names.has(definition.name), `${version}: ${definition.name} twice`);
        numbers.add(definition.number);
        names.add(definition.name);
      }
    }
  });
});
