// The disassembler's API around the objdump text: the result fields, symbolized targets,
// address arithmetic, the privileged-spec option and speed. (Text equality with objdump over
// whole programs is disassembler-objdump.test.ts.)

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { ALL_EXTENSIONS, disassemble, extensionMask, extensionMaskOfIsaString } from '../../vmm-core/isa';

describe('disassemble', () => {
  it('splits text into mnemonic and operands with one TAB, as objdump prints them', () => {
    const add = disassemble(0x00c58533, 0x80000000);
    assert.deepEqual(add, { text: 'add\ta0,a1,a2', mnemonic: 'add', operands: 'a0,a1,a2', length: 4 });
    const ret = disassemble(0x8082, 0x80000000);
    assert.deepEqual(ret, { text: 'ret', mnemonic: 'ret', operands: '', length: 2 });
  });

  it('uses only the low halfword of a compressed instruction', () => {
    assert.equal(disassemble(0x12348082, 0).text, 'ret');
    assert.equal(disassemble(0x0001, 0).text, 'nop');
  });

  it('prints branch and jump targets as absolute hex, with the symbolizer name in <>', () => {
    const symbols = new Map<bigint, string>([[0x80000000n, '_start']]);
    const symbolize = (address: bigint): string | undefined => {
      if (symbols.has(address)) return symbols.get(address);
      return address > 0x80000000n ? `_start+0x${(address - 0x80000000n).toString(16)}` : undefined;
    };
    // j back to _start from 0x8000015c (compressed)
    assert.equal(disassemble(0xb555, 0x8000015cn, { symbolize }).text, 'j\t80000000 <_start>');
    // bnez a0,+8
    assert.equal(disassemble(0x00051463, 0x80000070, { symbolize }).text, 'bnez\ta0,80000078 <_start+0x78>');
    // jal t0,+4: the symbolizer is asked for the target only
    const asked: bigint[] = [];
    const result = disassemble(0x004002ef, 0x80000086, { symbolize: (address) => { asked.push(address); return undefined; } });
    assert.equal(result.text, 'jal\tt0,8000008a');
    assert.deepEqual(asked, [0x8000008an]);
    assert.equal(result.operands, 't0,8000008a');
    // Non-control-flow instructions never consult the symbolizer.
    disassemble(0x00c58533, 0x80000000, { symbolize: () => assert.fail('not a branch') });
  });

  it('wraps targets modulo 2^64 like objdump', () => {
    assert.equal(disassemble(0xffdff06f, 0).text, 'j\tfffffffffffffffc');
    assert.equal(disassemble(0xfe000ee3, 4n).text, 'beqz\tzero,0');
    assert.equal(disassemble(0x0040006f, 0xfffffffffffffffcn).text, 'j\t0');
    assert.equal(disassemble(0x0040006f, 0x7ffffffc).text, 'j\t80000000');
  });

  it('names CSRs after the requested privileged-spec version', () => {
    const csrrUstatus = 0x00002573; // csrrs a0,0x000,zero
    assert.equal(disassemble(csrrUstatus, 0).text, 'csrr\ta0,0x0');
    assert.equal(disassemble(csrrUstatus, 0, { privilegedSpec: '1.11' }).text, 'csrr\ta0,ustatus');
    const csrrMenvcfg = 0x30a02573;
    assert.equal(disassemble(csrrMenvcfg, 0).text, 'csrr\ta0,menvcfg');
    assert.equal(disassemble(csrrMenvcfg, 0, { privilegedSpec: '1.10' }).text, 'csrr\ta0,0x30a');
  });

  it('decodes optional extensions only when enabled, as objdump follows the ELF\'s ISA attribute', () => {
    const rv64gc = extensionMaskOfIsaString('rv64i2p1_m2p0_a2p1_f2p2_d2p2_c2p0_zicsr2p0_zifencei2p0');
    assert.equal(rv64gc, 0);
    assert.equal(extensionMaskOfIsaString('rv64gc_zbb_zihintpause'), extensionMask(['Zbb', 'Zihintpause']));
    const cases: ReadonlyArray<[number, string, string]> = [
      [0x0100000f, 'pause', 'fence\tw,unknown'],
      [0x60059513, 'clz\ta0,a1', '.4byte\t0x60059513'],
      [0x0805853b, 'zext.w\ta0,a1', '.4byte\t0x805853b'],
      [0x63f5d513, 'ror\ta0,a1,0x3f', '.4byte\t0x63f5d513'],
      [0x4bf59513, 'bclr\ta0,a1,0x3f', '.4byte\t0x4bf59513'],
      [0x0855951b, 'slli.uw\ta0,a1,0x5', '.4byte\t0x855951b'],
    ];
    for (const [word, all, without] of cases) {
      assert.equal(disassemble(word, 0).text, all, 'default: every extension');
      assert.equal(disassemble(word, 0, { extensions: ALL_EXTENSIONS }).text, all);
      assert.equal(disassemble(word, 0, { extensions: rv64gc }).text, without);
    }
    // Only the named extension is enabled.
    assert.equal(disassemble(0x60059513, 0, { extensions: extensionMask(['Zba']) }).text, '.4byte\t0x60059513');
    assert.equal(disassemble(0x0805853b, 0, { extensions: extensionMask(['Zba']) }).text, 'zext.w\ta0,a1');
  });

  it('prints illegal encodings as objdump does', () => {
    assert.deepEqual(disassemble(0x0000000b, 0), { text: '.4byte\t0xb', mnemonic: '.4byte', operands: '0xb', length: 4 });
    assert.deepEqual(disassemble(0x8000, 0), { text: '.2byte\t0x8000', mnemonic: '.2byte', operands: '0x8000', length: 2 });
    assert.equal(disassemble(0x0000, 0).text, 'unimp');
    assert.equal(disassemble(0xc0001073, 0).text, 'unimp');
    assert.equal(disassemble(0x00005053, 0).text, 'fadd.s\tft0,ft0,ft0,unknown');
  });

  it('is fast enough to disassemble every retired instruction of a trace', () => {
    const words = [0x00c58533, 0x8082, 0x00051463, 0x30059573, 0x6ac59543, 0x06c5b52f, 0x4515, 0xf947be23];
    const count = 200_000;
    const started = process.hrtime.bigint();
    let characters = 0;
    for (let i = 0; i < count; i++) characters += disassemble(words[i & 7], 0x80000000 + i * 4).text.length;
    const elapsedMilliseconds = Number(process.hrtime.bigint() - started) / 1e6;
    assert.ok(characters > 0);
    // Generous bound for a loaded CI machine; typically well under a second.
    assert.ok(elapsedMilliseconds < 5000, `${elapsedMilliseconds.toFixed(0)} ms for ${count}`);
  });
});
