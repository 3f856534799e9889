// Translation to JavaScript: a guest block becomes a function built with `new Function` from
// the decoded fields. Registers are the interpreter's Int32Array lo/hi pairs, copied into
// local variables at entry and written back at every exit; guest RAM is read through a
// DataView after an inlined bounds check (the bare-mode stand-in for a TLB probe). 64-bit
// arithmetic is done on lo/hi pairs, as the interpreter does it.

import { ACCESS_WIDTH, registerUse } from './blocks.mjs';

const lo = (r) => (r === 0 ? '0' : `l${r}`);
const hi = (r) => (r === 0 ? '0' : `h${r}`);

/** The JavaScript source of one block's function; see compileJavaScriptBlock. */
export function javascriptSource(block, ramBase, ramSize) {
  const { used, written } = registerUse(block);
  const lines = [];
  const writeBack = [...written].map((r) => `x[${2 * r}]=l${r};x[${2 * r + 1}]=h${r};`).join('');
  const exit = (pc, count) => `{${writeBack}exitState[0]=${pc | 0};exitState[1]=${Math.floor(pc / 2 ** 32) | 0};return ${count};}`;
  const carry = (result, a) => `((${result}>>>0)<(${a}>>>0)?1:0)`;
  const address = (rs1, imm, width, index, pc) =>
    `t=(${lo(rs1)}+${imm})|0;a=(${hi(rs1)}+${imm >> 31}+${carry('t', lo(rs1))})|0;o=(t-(${ramBase | 0}))>>>0;` +
    `if(a!==${Math.floor(ramBase / 2 ** 32)}||o>${ramSize - width})${exit(pc, `count+${index}`)}`;

  block.instructions.forEach((instruction, index) => {
    const { operation, rd, rs1, rs2, imm, pc } = instruction;
    // A write to x0 lands in the scratch pair l0/h0; reads of x0 are the literal 0.
    const d = rd, L1 = lo(rs1), H1 = hi(rs1), L2 = lo(rs2), H2 = hi(rs2);
    switch (operation) {
      case 'Lui': lines.push(`l${d}=${imm};h${d}=${imm >> 31};`); break;
      case 'Addi': lines.push(`t=(${L1}+${imm})|0;h${d}=(${H1}+${imm >> 31}+${carry('t', L1)})|0;l${d}=t;`); break;
      case 'Add': lines.push(`t=(${L1}+${L2})|0;h${d}=(${H1}+${H2}+${carry('t', L1)})|0;l${d}=t;`); break;
      case 'Sub': lines.push(`t=(${L1}-${L2})|0;h${d}=(${H1}-${H2}-((${L1}>>>0)<(${L2}>>>0)?1:0))|0;l${d}=t;`); break;
      case 'Andi': lines.push(`h${d}=${H1}&${imm >> 31};l${d}=${L1}&${imm};`); break;
      case 'Ori': lines.push(`h${d}=${H1}|${imm >> 31};l${d}=${L1}|${imm};`); break;
      case 'Xori': lines.push(`h${d}=${H1}^${imm >> 31};l${d}=${L1}^${imm};`); break;
      case 'And': lines.push(`h${d}=${H1}&${H2};l${d}=${L1}&${L2};`); break;
      case 'Or': lines.push(`h${d}=${H1}|${H2};l${d}=${L1}|${L2};`); break;
      case 'Xor': lines.push(`h${d}=${H1}^${H2};l${d}=${L1}^${L2};`); break;
      case 'Slli':
        if (imm === 0) lines.push(`l${d}=${L1};h${d}=${H1};`);
        else if (imm < 32) lines.push(`h${d}=(${H1}<<${imm})|(${L1}>>>${32 - imm});l${d}=${L1}<<${imm};`);
        else lines.push(`h${d}=${L1}<<${imm - 32};l${d}=0;`);
        break;
      case 'Srli':
        if (imm === 0) lines.push(`l${d}=${L1};h${d}=${H1};`);
        else if (imm < 32) lines.push(`l${d}=(${L1}>>>${imm})|(${H1}<<${32 - imm});h${d}=(${H1}>>>${imm})|0;`);
        else lines.push(`l${d}=(${H1}>>>${imm - 32})|0;h${d}=0;`);
        break;
      case 'Srai':
        if (imm === 0) lines.push(`l${d}=${L1};h${d}=${H1};`);
        else if (imm < 32) lines.push(`l${d}=(${L1}>>>${imm})|(${H1}<<${32 - imm});h${d}=${H1}>>${imm};`);
        else lines.push(`l${d}=${H1}>>${imm - 32};h${d}=${H1}>>31;`);
        break;
      case 'Addiw': lines.push(`l${d}=(${L1}+${imm})|0;h${d}=l${d}>>31;`); break;
      case 'Slliw': lines.push(`l${d}=${L1}<<${imm};h${d}=l${d}>>31;`); break;
      case 'Srliw': lines.push(`l${d}=(${L1}>>>${imm})|0;h${d}=l${d}>>31;`); break;
      case 'Sraiw': lines.push(`l${d}=${L1}>>${imm};h${d}=l${d}>>31;`); break;
      case 'Addw': lines.push(`l${d}=(${L1}+${L2})|0;h${d}=l${d}>>31;`); break;
      case 'Subw': lines.push(`l${d}=(${L1}-${L2})|0;h${d}=l${d}>>31;`); break;
      case 'Mulw': lines.push(`l${d}=Math.imul(${L1},${L2});h${d}=l${d}>>31;`); break;
      case 'Mul': lines.push(`t=multiplyLow(${L1},${H1},${L2},${H2});h${d}=productHigh;l${d}=t;`); break;
      case 'Lb': case 'Lbu': case 'Lh': case 'Lhu': case 'Lw': case 'Lwu': case 'Ld': {
        const width = ACCESS_WIDTH[operation];
        lines.push(address(rs1, imm, width, index, pc));
        const read = {
          Lb: `l${d}=view.getInt8(o);h${d}=l${d}>>31;`, Lbu: `l${d}=view.getUint8(o);h${d}=0;`,
          Lh: `l${d}=view.getInt16(o,true);h${d}=l${d}>>31;`, Lhu: `l${d}=view.getUint16(o,true);h${d}=0;`,
          Lw: `l${d}=view.getInt32(o,true);h${d}=l${d}>>31;`, Lwu: `l${d}=view.getInt32(o,true);h${d}=0;`,
          Ld: `l${d}=view.getInt32(o,true);h${d}=view.getInt32(o+4,true);`,
        }[operation];
        lines.push(read);
        break;
      }
      case 'Sb': case 'Sh': case 'Sw': case 'Sd': {
        const width = ACCESS_WIDTH[operation];
        lines.push(address(rs1, imm, width, index, pc));
        // A store into a page holding translated code leaves the block before it happens.
        lines.push(`if(codePages[o>>>12]!==0)${exit(pc, `count+${index}`)}`);
        lines.push({
          Sb: `view.setInt8(o,${L2});`, Sh: `view.setInt16(o,${L2},true);`, Sw: `view.setInt32(o,${L2},true);`,
          Sd: `view.setInt32(o,${L2},true);view.setInt32(o+4,${H2},true);`,
        }[operation]);
        break;
      }
      case 'Beq': case 'Bne': case 'Blt': case 'Bge': case 'Bltu': case 'Bgeu': {
        const condition = {
          Beq: `${L1}===${L2}&&${H1}===${H2}`,
          Bne: `${L1}!==${L2}||${H1}!==${H2}`,
          Blt: `${H1}<${H2}||(${H1}===${H2}&&(${L1}>>>0)<(${L2}>>>0))`,
          Bge: `${H1}>${H2}||(${H1}===${H2}&&(${L1}>>>0)>=(${L2}>>>0))`,
          Bltu: `(${H1}>>>0)<(${H2}>>>0)||(${H1}===${H2}&&(${L1}>>>0)<(${L2}>>>0))`,
          Bgeu: `(${H1}>>>0)>(${H2}>>>0)||(${H1}===${H2}&&(${L1}>>>0)>=(${L2}>>>0))`,
        }[operation];
        lines.push(`count+=${block.instructions.length};`);
        const selfLoop = block.branchTarget === block.start;
        lines.push(`if(${condition}){${selfLoop ? 'if(count<budget)continue;' : ''}${exit(block.branchTarget, 'count')}}`);
        lines.push(exit(block.fallthrough, 'count'));
        break;
      }
      default:
        throw new Error(`JavaScript tier: ${operation} not implemented`);
    }
  });
  const declarations = [...used].map((r) => `l${r}=x[${2 * r}]|0,h${r}=x[${2 * r + 1}]|0`).join(',');
  return (
    `"use strict";let productHigh=0;` +
    // Low 64 bits of a 64x64 product from 16-bit limbs (exact in doubles, no BigInt).
    `function multiplyLow(aLo,aHi,bLo,bHi){const a0=aLo&0xffff,a1=aLo>>>16,b0=bLo&0xffff,b1=bLo>>>16;` +
    `const middle=a0*b1+a1*b0;const low=a0*b0+(middle%65536)*65536;const lowWord=low%4294967296;` +
    `productHigh=(a1*b1+Math.floor(middle/65536)+(low-lowWord)/4294967296+Math.imul(aLo,bHi)+Math.imul(aHi,bLo))|0;return lowWord|0;}` +
    `return function block_${block.start.toString(16)}(budget){let count=0,t=0,a=0,o=0,l0=0,h0=0${declarations ? ',' + declarations : ''};` +
    `for(;;){${lines.join('')}}};`
  );
}

/**
 * Compiles a block to `run(budget) -> instructions executed`; the pc it left at is written to
 * exitState[0..1]. `x` is the register file (lo/hi pairs), `view` a DataView over guest RAM,
 * `codePages` one byte per RAM page (non-zero: the page holds translated code).
 */
export function compileJavaScriptBlock(block, { x, view, codePages, exitState, ramBase, ramSize }) {
  const factory = new Function('x', 'view', 'codePages', 'exitState', javascriptSource(block, ramBase, ramSize));
  return factory(x, view, codePages, exitState);
}
