// The debugger's expression language (debug-adapter/state/expression.ts): literals,
// precedence, 64-bit wrap-around, casts, dereferences through the memory callback (virtual
// and phys:), names (registers, CSRs, symbols, extras), errors with positions, and the
// machine-backed context reading a real hart through its page tables.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { Privilege } from '../../vmm-core/cpu/csr-numbers';
import { machineExpressionContext, readVirtual } from '../../debug-adapter/state/context';
import {
  evaluate, evaluateCondition, evaluateExpression, ExpressionError, formatExpressionValue, parseExpression,
  type ExpressionContext, type ExpressionValue,
} from '../../debug-adapter/state/expression';
import { createMachine, writeDoubleword, X } from '../support/assemble';

/** A context over a small sparse memory: virtual addresses map to `memory`, physical ones to `physicalMemory`. */
function fakeContext(options: { extra?: Record<string, bigint> } = {}): ExpressionContext & { reads: Array<[bigint, number, boolean]> } {
  const memory = new Map<bigint, number>();
  const physicalMemory = new Map<bigint, number>();
  const store = (target: Map<bigint, number>, address: bigint, bytes: number[]) =>
    bytes.forEach((byte, index) => target.set(address + BigInt(index), byte));
  // sp = 0x1000: [sp] = 0x1122334455667788, [sp+8] = 0xfffffffffffffff0 (-16), [sp+16] = 0x2000 (a pointer)
  store(memory, 0x1000n, [0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11]);
  store(memory, 0x1008n, [0xf0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
  store(memory, 0x1010n, [0x00, 0x20, 0, 0, 0, 0, 0, 0]);
  store(memory, 0x2000n, [0x2a, 0, 0, 0, 0, 0, 0, 0]);
  store(physicalMemory, 0x8000_0000n, [0x13, 0x05, 0x10, 0x00]);
  const registers: Record<string, bigint> = { sp: 0x1000n, x2: 0x1000n, a0: 5n, x10: 5n, a1: 0xffff_ffff_ffff_ffffn, pc: 0x8000_0000n, zero: 0n };
  const reads: Array<[bigint, number, boolean]> = [];
  return {
    reads,
    register: (name) => registers[name],
    csr: (name) => (name === 'mstatus' ? 0xa_0000_1800n : name === 'satp' ? 8n << 60n : undefined),
    symbol: (name) => (name === 'ticks' ? 0x2000n : name === 'kernel.data' ? 0x1000n : undefined),
    extra: (name) => options.extra?.[name],
    readMemory(address, size, physical) {
      reads.push([address, size, physical]);
      const source = physical ? physicalMemory : memory;
      const bytes = new Uint8Array(size);
      for (let index = 0; index < size; index++) {
        const byte = source.get(address + BigInt(index));
        if (byte === undefined) return undefined;
        bytes[index] = byte;
      }
      return bytes;
    },
  };
}

const value = (text: string, context: ExpressionContext = fakeContext()): bigint => evaluate(text, context).value;
const result = (text: string, context: ExpressionContext = fakeContext()): ExpressionValue => evaluate(text, context);

function expectError(text: string, pattern: RegExp, position?: number, context: ExpressionContext = fakeContext()): void {
  assert.throws(() => evaluate(text, context), (error: unknown) => {
    assert.ok(error instanceof ExpressionError, `${text}: ${String(error)}`);
    assert.match(error.message, pattern, text);
    if (position !== undefined) assert.equal(error.position, position, `${text}: position`);
    return true;
  });
}

describe('literals', () => {
  it('reads decimal, hex, binary, octal, separators, suffixes and characters', () => {
    assert.equal(value('42'), 42n);
    assert.equal(value('0x8020_0000'), 0x8020_0000n);
    assert.equal(value('0b1010'), 10n);
    assert.equal(value('0o777'), 511n);
    assert.equal(value('10ul'), 10n);
    assert.equal(result('10u').type, 'u64');
    assert.equal(result('10').type, 'i64');
    assert.equal(result('0xffffffffffffffff').type, 'u64');
    assert.equal(value("'a'"), 97n);
    assert.equal(value("'\\n'"), 10n);
    assert.equal(value("'\\0'"), 0n);
    assert.equal(value("'\\x41'"), 0x41n);
    assert.equal(value("'\\''"), 39n);
    assert.equal(value("'\\101'"), 65n);
  });

  it('rejects malformed literals with their position', () => {
    expectError('1 + 0x', /malformed number/, 4);
    expectError('12ab', /malformed number/, 0);
    expectError('1.5', /floating-point/, 0);
    expectError('0x1_0000_0000_0000_0000', /64 bits/, 0);
    expectError("''", /empty character/, 0);
    expectError("'ab'", /unterminated/, 0);
    expectError("'\\q'", /unknown escape/, 1);
  });
});

describe('operators', () => {
  it('follows C precedence and associativity', () => {
    assert.equal(value('1 + 2 * 3'), 7n);
    assert.equal(value('(1 + 2) * 3'), 9n);
    assert.equal(value('10 - 4 - 3'), 3n);
    assert.equal(value('100 / 10 / 5'), 2n);
    assert.equal(value('1 << 2 + 1'), 8n);
    assert.equal(value('1 | 2 ^ 3 & 5'), 1n | (2n ^ (3n & 5n)));
    assert.equal(value('1 + 1 == 2'), 1n);
    assert.equal(value('3 & 1 == 1'), 1n); // == binds tighter than &
    assert.equal(value('2 < 3 == 1'), 1n);
    assert.equal(value('0 || 1 && 0'), 0n);
    assert.equal(value('-2 * -3'), 6n);
    assert.equal(value('~0 & 0xff'), 0xffn);
    assert.equal(value('!0 + !5'), 1n);
    assert.equal(value('- - 4'), 4n);
    assert.equal(value('1 ? 2 : 3'), 2n);
    assert.equal(value('0 ? 2 : 0 ? 3 : 4'), 4n);
    assert.equal(value('7 % 4 * 2'), 6n);
  });

  it('wraps around in 64 bits, signed or unsigned by type', () => {
    assert.equal(value('0xffffffffffffffff + 1'), 0n);
    assert.equal(value('0 - 1'), -1n);
    assert.equal(result('0 - 1').type, 'i64');
    assert.equal(value('0u - 1'), 0xffff_ffff_ffff_ffffn);
    assert.equal(value('0x7fffffffffffffff + 1'), -(1n << 63n));
    assert.equal(value('a1'), 0xffff_ffff_ffff_ffffn, 'registers are u64');
    assert.equal(value('a1 + 2'), 1n);
    assert.equal(value('1 << 63'), -(1n << 63n));
    assert.equal(value('1 << 64'), 0n);
    assert.equal(value('-8 >> 1'), -4n, 'signed shift is arithmetic');
    assert.equal(value('a1 >> 60'), 0xfn, 'unsigned shift is logical');
    assert.equal(value('-8 >> 100'), -1n);
  });

  it('divides like C (truncating, signed by type)', () => {
    assert.equal(value('-7 / 2'), -3n);
    assert.equal(value('-7 % 2'), -1n);
    assert.equal(value('a1 / 2'), 0x7fff_ffff_ffff_ffffn);
    assert.equal(value('(-0x7fffffffffffffff - 1) / -1'), -(1n << 63n));
  });

  it('compares signed or unsigned by the common type', () => {
    assert.equal(value('-1 < 0'), 1n);
    assert.equal(value('a1 > 0'), 1n, 'u64 against i64 compares unsigned');
    assert.equal(value('(i64)a1 < 0'), 1n);
    assert.equal(value('a0 >= 5 && a0 <= 5 && a0 != 4'), 1n);
  });

  it('short-circuits && and || (no memory read on the skipped side)', () => {
    const context = fakeContext();
    assert.equal(value('0 && *(u64*)0xdead', context), 0n);
    assert.equal(value('1 || *(u64*)0xdead', context), 1n);
    assert.equal(value('0 ? *(u64*)0xdead : 9', context), 9n);
    assert.equal(context.reads.length, 0);
  });

  it('reports division by zero and bad shifts', () => {
    expectError('1 / 0', /division by zero/, 2);
    expectError('1 % (a0 - 5)', /division by zero/, 2);
    expectError('1 << -1', /negative shift/, 2);
  });
});

describe('casts', () => {
  it('truncates and sign- or zero-extends', () => {
    assert.deepEqual(result('(u8)0x1234'), { value: 0x34n, type: 'u8' });
    assert.deepEqual(result('(i8)0xff'), { value: -1n, type: 'i8' });
    assert.deepEqual(result('(u16)-1'), { value: 0xffffn, type: 'u16' });
    assert.deepEqual(result('(i32)0x80000000'), { value: -(1n << 31n), type: 'i32' });
    assert.deepEqual(result('(u32)-1'), { value: 0xffff_ffffn, type: 'u32' });
    assert.deepEqual(result('(u64)-1'), { value: (1n << 64n) - 1n, type: 'u64' });
    assert.deepEqual(result('(i64)a1'), { value: -1n, type: 'i64' });
  });

  it('knows C and stdint type names (char is unsigned on RISC-V)', () => {
    assert.equal(result('(char)-1').type, 'u8');
    assert.equal(result('(signed char)-1').value, -1n);
    assert.equal(result('(unsigned char)300').value, 44n);
    assert.equal(result('(short)0x18000').value, -32768n);
    assert.equal(result('(unsigned short)-1').type, 'u16');
    assert.equal(result('(int)0xffffffff').value, -1n);
    assert.equal(result('(unsigned)-1').type, 'u32');
    assert.equal(result('(unsigned int)-1').type, 'u32');
    assert.equal(result('(long)-1').type, 'i64');
    assert.equal(result('(unsigned long long)-1').type, 'u64');
    assert.equal(result('(uint32_t)-1').type, 'u32');
    assert.equal(result('(int8_t)200').value, -56n);
    assert.equal(result('(size_t)-1').type, 'u64');
    assert.equal(result('(uintptr_t)sp').type, 'u64');
  });

  it('promotes narrow values to 64 bits for arithmetic', () => {
    assert.deepEqual(result('(u8)255 + 1'), { value: 256n, type: 'i64' });
    assert.deepEqual(result('(u32)0xffffffff + 1'), { value: 0x1_0000_0000n, type: 'i64' });
    assert.equal(result('~(u8)0').value, -1n);
  });

  it('tells a cast from a parenthesized name', () => {
    assert.equal(value('(a0)'), 5n);
    assert.equal(value('(a0) * 2'), 10n);
    assert.equal(value('(a0 * 2)'), 10n);
    expectError('(foo*)sp', /unknown type 'foo'/, 1);
    expectError('(unsigned float)1', /expected '\)' to close the cast to u32 but found 'float'/, 10);
    expectError('(long char)1', /unknown type 'long char'/, 1);
    expectError('(u64 * 2)', /expected '\)' to close the cast to u64\* but found '2'/, 7);
    expectError('(u32 a0)', /expected '\)'/, 5);
  });
});

describe('memory', () => {
  it('dereferences typed pointers with their size and sign', () => {
    const context = fakeContext();
    assert.deepEqual(result('*(u64*)sp', context), { value: 0x1122_3344_5566_7788n, type: 'u64', address: 0x1000n });
    assert.deepEqual(result('*(u32*)sp', context), { value: 0x5566_7788n, type: 'u32', address: 0x1000n });
    assert.deepEqual(result('*(u16*)(sp + 6)', context), { value: 0x1122n, type: 'u16', address: 0x1006n });
    assert.deepEqual(result('*(u8*)(sp+7)', context), { value: 0x11n, type: 'u8', address: 0x1007n });
    assert.deepEqual(result('*(i64*)(sp+8)', context), { value: -16n, type: 'i64', address: 0x1008n });
    assert.deepEqual(result('*(i8*)(sp+8)', context), { value: -16n, type: 'i8', address: 0x1008n });
    assert.deepEqual(context.reads.slice(0, 2), [[0x1000n, 8, false], [0x1000n, 4, false]]);
  });

  it('scales pointer arithmetic by the element size', () => {
    assert.equal(value('*((u64*)sp + 1)'), (1n << 64n) - 16n);
    assert.equal(value('*((u32*)sp + 1)'), 0x1122_3344n);
    assert.equal(value('(u64*)sp + 2'), 0x1010n);
    assert.equal(result('(u64*)sp + 2').type, 'u64*');
    assert.equal(value('2 + (u16*)sp'), 0x1004n);
    assert.equal(value('(u64*)(sp + 16) - (u64*)sp'), 2n);
    expectError('(u64*)sp + (u64*)sp', /cannot add two pointers/, 9);
    expectError('(u64*)sp - (u32*)sp', /cannot subtract u32\* from u64\*/);
  });

  it('follows pointers to pointers', () => {
    assert.deepEqual(result('**(u64**)(sp + 16)'), { value: 42n, type: 'u64', address: 0x2000n });
    assert.equal(result('*(u32**)(sp + 16)').type, 'u32*');
  });

  it('reads a u64 through a plain integer', () => {
    assert.equal(value('*sp'), 0x1122_3344_5566_7788n);
    assert.equal(value('*0x2000'), 42n);
  });

  it('takes addresses of memory values and symbols', () => {
    assert.deepEqual(result('&*(u32*)(sp + 4)'), { value: 0x1004n, type: 'u32*' });
    assert.deepEqual(result('&ticks'), { value: 0x2000n, type: 'u64' });
    expectError('&a0', /cannot take the address of 'a0'/, 0);
    expectError('&(1 + 2)', /cannot take the address/, 0);
  });

  it('reads physical memory under phys:', () => {
    const context = fakeContext();
    assert.deepEqual(result('phys:*(u32*)0x80000000', context), { value: 0x0010_0513n, type: 'u32', address: 0x8000_0000n, physical: true });
    assert.deepEqual(result('*(u32*)phys:0x80000000', context), { value: 0x0010_0513n, type: 'u32', address: 0x8000_0000n, physical: true });
    assert.deepEqual(result('phys:0x80000000', context), { value: 0x8000_0000n, type: 'i64', physical: true });
    assert.deepEqual(context.reads, [[0x8000_0000n, 4, true], [0x8000_0000n, 4, true]]);
    expectError('*(u32*)0x80000000', /cannot read 4 bytes at 0x80000000/, 0);
    expectError('phys:*(u64*)0x1000', /cannot read 8 bytes at physical 0x1000/, 5);
  });
});

describe('names', () => {
  it('resolves registers, pc, CSRs with or without $, and symbols', () => {
    assert.equal(value('a0'), 5n);
    assert.equal(value('x10 + $a0'), 10n);
    assert.equal(value('pc'), 0x8000_0000n);
    assert.equal(value('$pc'), 0x8000_0000n);
    assert.equal(value('mstatus >> 11 & 3'), 3n);
    assert.equal(value('($mstatus >> 11) & 3'), 3n);
    assert.equal(value('satp >> 60'), 8n);
    assert.deepEqual(result('ticks'), { value: 0x2000n, type: 'u64', address: 0x2000n });
    assert.equal(value('*(u32*)ticks'), 42n);
    assert.equal(value('kernel.data'), 0x1000n, 'symbols may contain dots');
  });

  it('looks up extras first (exception-filter conditions)', () => {
    const context = fakeContext({ extra: { cause: 13n, tval: 0xdeadn, epc: 0x8000_1000n, hart: 0n, a0: 99n } });
    assert.equal(evaluateCondition(parseExpression('cause == 13 && tval == 0xdead'), context), true);
    assert.equal(evaluateCondition(parseExpression('cause == 15 || hart != 0'), context), false);
    assert.equal(value('epc', context), 0x8000_1000n);
    assert.equal(value('a0', context), 99n, 'extras shadow registers');
  });

  it('reports unknown names, and $ never means a symbol', () => {
    expectError('a0 + nosuch', /unknown name 'nosuch'/, 5);
    expectError('$ticks', /no register or CSR '\$ticks'/, 0);
  });
});

describe('syntax errors', () => {
  it('says what was expected and where', () => {
    expectError('', /empty expression/, 0);
    expectError('(a0 + 1', /expected '\)' but the expression ended/, 7);
    expectError('a0 +', /expected a value but the expression ended/, 4);
    expectError('a0 a1', /unexpected 'a1' after the expression/, 3);
    expectError('a0 = 1', /unexpected character '='.*use ==/, 3);
    expectError('sp[1]', /cannot index u64: it is not an array or pointer/, 2);
    expectError('1 ? 2', /expected ':'/, 5);
    expectError('* ', /expected a value/, 2);
    expectError('$', /'\$' must be followed/, 0);
    expectError('a0 @ 1', /unexpected character '@'/, 3);
  });

  it('gives positions on the error object and in the message', () => {
    try {
      parseExpression('1 + (2 * )');
      assert.fail('no error');
    } catch (error) {
      assert.ok(error instanceof ExpressionError);
      assert.equal(error.position, 9);
      assert.equal(error.detail, "expected a value but found ')'");
      assert.match(error.message, /at column 10/);
    }
  });

  it('parses once and evaluates many times', () => {
    const node = parseExpression('a0 * 2');
    assert.equal(node.kind, 'binary');
    assert.equal(evaluateExpression(node, fakeContext()).value, 10n);
    assert.equal(evaluateExpression(node, fakeContext({ extra: { a0: 4n } })).value, 8n);
  });
});

describe('formatExpressionValue', () => {
  it('shows pointers and u64 in hex, the rest in decimal unless asked', () => {
    assert.equal(formatExpressionValue(result('sp')), '0x1000');
    assert.equal(formatExpressionValue(result('(u32*)sp')), '0x1000');
    assert.equal(formatExpressionValue(result('-5')), '-5');
    assert.equal(formatExpressionValue(result('(u8)200')), '200');
    assert.equal(formatExpressionValue(result('(i8)-1'), { hex: true }), '0xff');
    assert.equal(formatExpressionValue(result('-1'), { hex: true }), '0xffffffffffffffff');
  });
});

describe('machineExpressionContext', () => {
  it('reads registers, CSRs and memory of a hart, through its page tables', () => {
    const machine = createMachine({ openPmp: true });
    const hart = machine.harts[0];
    hart.writeRegister(X.sp, 0x4000_1ff8n);
    writeDoubleword(machine, 0x8000_1ff8n, 0x0102_0304_0506_0708n);
    writeDoubleword(machine, 0x8000_2000n, 0x1111_2222_3333_4444n);
    // Sv39: VA 0x4000_0000 (1G) → RAM at 0x8000_0000, root at 0x8010_0000.
    writeDoubleword(machine, 0x8010_0000n + 8n, ((0x8000_0000n >> 12n) << 10n) | 0xcfn);
    hart.satpLo = 0x80100;
    hart.satpHi = 8 << 28;
    hart.privilege = Privilege.Supervisor;
    const symbols = new Map([['stack_top', 0x4000_2000n]]);
    const context = machineExpressionContext(machine, 0, { symbol: (name) => symbols.get(name), extra: (name) => (name === 'hart' ? 0n : undefined) });
    assert.equal(evaluate('*(u64*)sp', context).value, 0x0102_0304_0506_0708n);
    assert.equal(evaluate('*(u64*)stack_top', context).value, 0x1111_2222_3333_4444n);
    // Crossing the page boundary: 4 bytes from each page.
    assert.equal(evaluate('*(u64*)(sp + 4)', context).value, 0x3333_4444_0102_0304n);
    assert.equal(evaluate('phys:*(u64*)0x80001ff8', context).value, 0x0102_0304_0506_0708n);
    assert.equal(evaluate('satp >> 60', context).value, 8n);
    assert.equal(evaluate('$mhartid + hart', context).value, 0n);
    assert.equal(evaluate('0x300', context).value, 0x300n, 'a number is not a CSR');
    assert.throws(() => evaluate('*(u64*)0x1000', context), /cannot read 8 bytes at 0x1000/);
    assert.equal(readVirtual(machine, 0, 0x7fff_fffcn, 8), undefined, 'second page unmapped');
    // No side effects: the leaf PTE has no A/D change (already set) and the TLB is untouched.
    assert.equal(hart.mcauseLo, 0);
  });
});
