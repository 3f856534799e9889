// Translation to WebAssembly: a guest block becomes a one-function module built at run time
// with wasm-encoder.mjs. The register file and guest RAM live in one WebAssembly.Memory (a
// SharedArrayBuffer, as Ringside's RAM is): the registers' lo/hi Int32 pairs are exactly
// little-endian i64s, so the block loads them into i64 locals at entry and stores the written
// ones back at every exit. Loads and stores check the guest address against RAM with one
// unsigned i64 compare (the bare-mode stand-in for a TLB probe); stores also check the
// code-page map and leave the block before writing into translated code.

import { ACCESS_WIDTH, registerUse } from './blocks.mjs';
import { FunctionBuilder, I32, I64, VOID_BLOCK, encodeModule } from './wasm-encoder.mjs';

/** Layout of the Wasm memory: registers, exit pc, code-page map, then guest RAM. */
export const WASM_LAYOUT = Object.freeze({ registers: 0, exitPc: 33 * 8, codePages: 4096, ram: 65536 });

const PARAMETER_BUDGET = 0;
const LOCAL_COUNT = 1;
const LOCAL_OFFSET = 2;
const LOCAL_ADDRESS = 3;
const LOCAL_SCRATCH = 4; // where writes to x0 go
const FIRST_REGISTER_LOCAL = 5;

const LOADS = { Lb: 'i64.load8_s', Lbu: 'i64.load8_u', Lh: 'i64.load16_s', Lhu: 'i64.load16_u', Lw: 'i64.load32_s', Lwu: 'i64.load32_u', Ld: 'i64.load' };
const STORES = { Sb: 'i64.store8', Sh: 'i64.store16', Sw: 'i64.store32', Sd: 'i64.store' };
const BRANCH_COMPARES = { Beq: 'i64.eq', Bne: 'i64.ne', Blt: 'i64.lt_s', Bge: 'i64.ge_s', Bltu: 'i64.lt_u', Bgeu: 'i64.ge_u' };
const IMMEDIATE_OPERATIONS = { Addi: 'i64.add', Andi: 'i64.and', Ori: 'i64.or', Xori: 'i64.xor', Slli: 'i64.shl', Srli: 'i64.shr_u', Srai: 'i64.shr_s' };
const REGISTER_OPERATIONS = { Add: 'i64.add', Sub: 'i64.sub', And: 'i64.and', Or: 'i64.or', Xor: 'i64.xor', Mul: 'i64.mul' };
const WORD_IMMEDIATE_OPERATIONS = { Addiw: 'i32.add', Slliw: 'i32.shl', Srliw: 'i32.shr_u', Sraiw: 'i32.shr_s' };
const WORD_REGISTER_OPERATIONS = { Addw: 'i32.add', Subw: 'i32.sub', Mulw: 'i32.mul' };

/** The module bytes of one block: exports `run(budget: i32) -> i32` (instructions executed). */
export function wasmBlockModule(block, ramBase, ramSize, memoryPages) {
  const { used, written } = registerUse(block);
  const localOf = new Map([...used].map((r, index) => [r, FIRST_REGISTER_LOCAL + index]));
  const f = new FunctionBuilder();
  const get = (r) => (r === 0 ? f.i64Const(0) : f.localGet(localOf.get(r)));
  const set = (r) => f.localSet(r === 0 ? LOCAL_SCRATCH : localOf.get(r));
  const exit = (pc, instructionsBefore) => {
    for (const r of written) f.i32Const(0).localGet(localOf.get(r)).memory('i64.store', 3, WASM_LAYOUT.registers + 8 * r);
    f.i32Const(0).i64Const(pc).memory('i64.store', 3, WASM_LAYOUT.exitPc);
    f.localGet(LOCAL_COUNT);
    if (instructionsBefore !== 0) f.i32Const(instructionsBefore).emit('i32.add');
    f.emit('return');
  };
  const checkedAddress = (rs1, imm, width, index, pc) => {
    get(rs1).i64Const(imm).emit('i64.add').i64Const(ramBase).emit('i64.sub').localTee(LOCAL_ADDRESS);
    f.i64Const(ramSize - width).emit('i64.gt_u').emit('if', VOID_BLOCK);
    exit(pc, index);
    f.emit('end');
  };

  for (const r of used) f.i32Const(0).memory('i64.load', 3, WASM_LAYOUT.registers + 8 * r).localSet(localOf.get(r));
  f.emit('loop', VOID_BLOCK);
  block.instructions.forEach(({ operation, rd, rs1, rs2, imm, pc }, index) => {
    if (operation === 'Lui') {
      f.i64Const(imm);
      set(rd);
    } else if (IMMEDIATE_OPERATIONS[operation]) {
      get(rs1).i64Const(imm).emit(IMMEDIATE_OPERATIONS[operation]);
      set(rd);
    } else if (REGISTER_OPERATIONS[operation]) {
      get(rs1);
      get(rs2).emit(REGISTER_OPERATIONS[operation]);
      set(rd);
    } else if (WORD_IMMEDIATE_OPERATIONS[operation]) {
      get(rs1).emit('i32.wrap_i64').i32Const(imm).emit(WORD_IMMEDIATE_OPERATIONS[operation]).emit('i64.extend_i32_s');
      set(rd);
    } else if (WORD_REGISTER_OPERATIONS[operation]) {
      get(rs1).emit('i32.wrap_i64');
      get(rs2).emit('i32.wrap_i64').emit(WORD_REGISTER_OPERATIONS[operation]).emit('i64.extend_i32_s');
      set(rd);
    } else if (LOADS[operation]) {
      checkedAddress(rs1, imm, ACCESS_WIDTH[operation], index, pc);
      f.localGet(LOCAL_ADDRESS).emit('i32.wrap_i64').memory(LOADS[operation], 0, WASM_LAYOUT.ram);
      set(rd);
    } else if (STORES[operation]) {
      checkedAddress(rs1, imm, ACCESS_WIDTH[operation], index, pc);
      f.localGet(LOCAL_ADDRESS).emit('i32.wrap_i64').localTee(LOCAL_OFFSET);
      f.i32Const(12).emit('i32.shr_u').memory('i32.load8_u', 0, WASM_LAYOUT.codePages).emit('if', VOID_BLOCK);
      exit(pc, index);
      f.emit('end');
      f.localGet(LOCAL_OFFSET);
      get(rs2).memory(STORES[operation], 0, WASM_LAYOUT.ram);
    } else if (BRANCH_COMPARES[operation]) {
      f.localGet(LOCAL_COUNT).i32Const(block.instructions.length).emit('i32.add').localSet(LOCAL_COUNT);
      get(rs1);
      get(rs2).emit(BRANCH_COMPARES[operation]).emit('if', VOID_BLOCK);
      if (block.branchTarget === block.start) {
        // Chained to itself: loop while budget remains (depth 1 is the loop).
        f.localGet(LOCAL_COUNT).localGet(PARAMETER_BUDGET).emit('i32.lt_u').emit('br_if', 1);
      }
      exit(block.branchTarget, 0);
      f.emit('end');
      exit(block.fallthrough, 0);
    } else {
      throw new Error(`WebAssembly tier: ${operation} not implemented`);
    }
  });
  f.emit('end'); // loop
  f.emit('unreachable');
  return encodeModule({
    memoryPages, maximumPages: memoryPages, shared: true,
    functions: [{
      name: 'run', parameters: [I32], results: [I32],
      locals: [I32, I32, I64, I64, ...[...used].map(() => I64)],
      body: f,
    }],
  });
}

/** Compiles and instantiates a block against `memory`; returns its `run(budget)`. */
export function compileWasmBlock(block, { memory, ramBase, ramSize }) {
  const pages = memory.buffer.byteLength / 65536;
  const module = new WebAssembly.Module(wasmBlockModule(block, ramBase, ramSize, pages));
  return new WebAssembly.Instance(module, { env: { memory } }).exports.run;
}

/** A module whose `run(budget)` returns its argument: the bare JS→Wasm call. */
export function emptyWasmFunction(memory) {
  const f = new FunctionBuilder().localGet(0);
  const pages = memory.buffer.byteLength / 65536;
  const bytes = encodeModule({ memoryPages: pages, maximumPages: pages, shared: true, functions: [{ name: 'run', parameters: [I32], results: [I32], locals: [], body: f }] });
  return new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory } }).exports.run;
}
