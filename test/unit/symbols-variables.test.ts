// Variables, parameters, globals and types, checked against gdb's `info scope` (locations
// per pc range: registers, static addresses, DW_OP_fbreg; anything else must be reported
// unsupported) and against the fixture's source (struct layout as `ptype /o` prints it).

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { TypeInfo, VariableInfo } from '../../debug-adapter/symbols/types';
import { FIXTURES, loadFixture, reference, registerNumber } from './symbols-support';

for (const name of FIXTURES) {
  test(`${name}: variable locations agree with gdb's info scope`, () => {
    const file = loadFixture(name);
    let checked = 0;
    for (const [functionName, symbols] of Object.entries(reference(name).scopes)) {
      const function_ = file.functionByName(functionName);
      if (function_ === undefined) continue;
      for (const symbol of symbols) {
        if (symbol.ranges.some((range) => range.kind === 'function')) continue; // a function declared in the block
        let found = 0;
        for (const range of symbol.ranges) {
          const pc: bigint = range.low !== undefined ? BigInt(range.low) : function_.lowPc;
          // info scope lists the function's outermost block: the outermost variable of that name.
          const matches: readonly VariableInfo[] = file.variablesAt(pc).filter((variable) => variable.name === symbol.name);
          const variable: VariableInfo | undefined = matches[matches.length - 1];
          // gdb lists a block's variables with list entries beyond the block; outside it they are not in scope.
          if (variable === undefined) continue;
          found++;
          const where = `${name} ${functionName}: ${symbol.name} at 0x${pc.toString(16)}`;
          switch (range.kind) {
            case 'register': assert.deepEqual(variable.location, { kind: 'register', register: registerNumber(range.register!) }, where); break;
            case 'address': assert.deepEqual(variable.location, { kind: 'address', address: BigInt(range.address!) }, where); break;
            case 'registerOffset': assert.deepEqual(variable.location, { kind: 'registerOffset', register: registerNumber(range.register!), offset: BigInt(range.offset!) }, where); break;
            case 'frameOffset': assert.deepEqual(variable.location, { kind: 'frameOffset', offset: BigInt(range.offset!) }, where); break;
            default: assert.equal(variable.location.kind, 'unsupported', where);
          }
          checked++;
        }
        // gdb lists the block at the address: a variable whose list starts after its block ends is
        // in scope (without a location) only there.
        const atEntry = file.variablesAt(function_.lowPc).some((variable) => variable.name === symbol.name);
        assert.ok(found > 0 || atEntry, `${functionName}: ${symbol.name} is never in scope`);
      }
    }
    assert.ok(checked > 5, `${checked} locations checked`);
  });
}

const member = (type: TypeInfo | undefined, memberName: string) => type?.members?.find((entry) => entry.name === memberName);

for (const name of ['shapes-dwarf4-O1', 'shapes-dwarf5-O2'] as const) {
  test(`${name}: struct, union, array, enum, pointer and typedef types`, () => {
    const file = loadFixture(name);
    const shapes = file.globals().find((variable) => variable.name === 'shapes')!;
    assert.deepEqual(shapes.location, { kind: 'address', address: file.symbolByName('shapes')!.address });
    assert.equal(shapes.kind, 'global');
    const array = shapes.type!;
    assert.deepEqual([array.kind, array.elementCount, array.byteSize, array.name], ['array', 3, 216, 'struct shape [3]']);
    const shape = array.target!;
    assert.deepEqual([shape.kind, shape.name, shape.byteSize], ['struct', 'struct shape', 72]);
    // Offsets as gdb's `ptype /o struct shape` prints them.
    assert.deepEqual(shape.members!.map((entry) => [entry.name, entry.offset, entry.type.byteSize]),
      [['name', 0, 8], ['corners', 8, 32], ['color', 40, 4], ['next', 48, 8], ['extra', 56, 8], ['grid', 64, 6]]);
    const name_ = member(shape, 'name')!.type;
    assert.deepEqual([name_.kind, name_.name, name_.target?.kind, name_.target?.encoding], ['pointer', 'char *', 'base', 'unsignedChar']);
    const corners = member(shape, 'corners')!.type;
    assert.deepEqual([corners.elementCount, corners.target?.name, member(corners.target, 'y')?.offset], [4, 'struct point', 4]);
    const color = member(shape, 'color')!.type;
    assert.equal(color.kind, 'enum');
    assert.deepEqual(color.enumerators, [{ name: 'RED', value: 0n }, { name: 'GREEN', value: 5n }, { name: 'BLUE', value: -1n }]);
    // A pointer back to the struct: the same object (the type graph is cyclic).
    assert.equal(member(shape, 'next')!.type.target, shape);
    const extra = member(shape, 'extra')!.type;
    assert.deepEqual([extra.kind, extra.members!.map((entry) => [entry.name, entry.offset, entry.type.name])],
      ['union', [['raw', 0, 'u64'], ['ratio', 0, 'double']]]);
    assert.deepEqual([member(extra, 'raw')!.type.kind, member(extra, 'raw')!.type.target?.name, member(extra, 'ratio')!.type.encoding],
      ['typedef', 'long unsigned int', 'float']);
    const grid = member(shape, 'grid')!.type;
    assert.deepEqual([grid.name, grid.elementCount, grid.byteSize, grid.target?.elementCount, grid.target?.byteSize], ['unsigned char [2][3]', 2, 6, 3, 3]);
    // volatile u64 sink: the qualifier passes through.
    assert.equal(file.globals().find((variable) => variable.name === 'sink')!.type?.name, 'u64');
  });

  test(`${name}: locals and parameters in nested scopes and inlined functions`, () => {
    const file = loadFixture(name);
    const perimeter = file.functionByName('perimeter2')!;
    // Inside the loop: distance2 (and square) are inlined; their parameters come first.
    const inlined = file.lineRows('shapes.c').find((row) => row.address >= perimeter.lowPc && row.address < perimeter.highPc &&
      file.functionsAt(row.address)[0]?.function.name === 'square');
    assert.ok(inlined !== undefined);
    const chain = file.functionsAt(inlined.address);
    assert.deepEqual(chain.map((frame) => [frame.function.name, frame.inlined]), [['square', true], ['distance2', true], ['perimeter2', false]]);
    assert.equal(chain[1].callSite?.line, chain[0].callSite !== undefined ? 47 : 0);
    const variables = file.variablesAt(inlined.address);
    const names = variables.map((variable) => `${variable.inlineDepth}:${variable.kind}:${variable.name}`);
    assert.ok(names.includes('0:parameter:value'), names.join());
    assert.ok(names.includes('1:parameter:a') && names.includes('1:local:dx'), names.join());
    assert.ok(names.includes('2:parameter:shape') && names.includes('2:local:total'), names.join());
    assert.ok(names.indexOf('0:parameter:value') < names.indexOf('2:parameter:shape'), 'innermost first');
    assert.equal(variables.find((variable) => variable.name === 'a')!.type?.name, 'struct point');
    // The static local of leaf is at its ELF symbol's address.
    const leaf = file.functionByName('leaf')!;
    const calls = file.variablesAt(leaf.lowPc).find((variable) => variable.name === 'calls')!;
    assert.equal(calls.location.kind, 'address');
    assert.equal(calls.type?.name, 'int');
  });
}
