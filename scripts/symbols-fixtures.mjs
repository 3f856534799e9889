#!/usr/bin/env node
// Regenerates the symbol reader's reference data from the GNU tools, so the tests need
// only Node:
//
//   node scripts/symbols-fixtures.mjs
//
// For each ELF below it writes test/fixtures/symbols/<name>.json with
//   lines:      every row of `objdump --dwarf=decodedline` ([file base name, line, address, is_stmt])
//   addr2line:  `addr2line -a -f -i` for up to 400 code addresses (line-row addresses and
//               the halfwords after them): frames of [function, path, line], innermost first
//   frames:     `readelf --debug-dump=frames-interp` rows: [pc, CFA as "reg+offset",
//               { register name: "u" | "c-8" | ... }] per FDE, with the FDE's range
//   breakpoints: gdb `break FILE:LINE` for every line of the C sources: the file and line
//               gdb chose and its location addresses
//   scopes:     gdb `info scope *ADDRESS` for every function symbol (unique names): per symbol the location
//               (register, static address, fbreg offset, or other) per pc range
// Needs riscv64-unknown-elf-{objdump,readelf,addr2line} and gdb-multiarch.
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import { fileURLToPath } from 'node:url';

process.chdir(fileURLToPath(new URL('..', import.meta.url)));

const CROSS = process.env.CROSS ?? 'riscv64-unknown-elf-';
const GDB = process.env.GDB ?? 'gdb-multiarch';
const TARGETS = [
  { name: 'shapes-dwarf4-O1', elf: 'test/fixtures/symbols/shapes-dwarf4-O1.elf', sources: ['test/fixtures/symbols/shapes.c'] },
  { name: 'shapes-dwarf5-O2', elf: 'test/fixtures/symbols/shapes-dwarf5-O2.elf', sources: ['test/fixtures/symbols/shapes.c'] },
  { name: 'shapes-fp-O1', elf: 'test/fixtures/symbols/shapes-fp-O1.elf', sources: ['test/fixtures/symbols/shapes.c'] },
  { name: 'shapes-eh-O2', elf: 'test/fixtures/symbols/shapes-eh-O2.elf', sources: ['test/fixtures/symbols/shapes.c'] },
  { name: 'guest-demo', elf: 'guests/bin/demo.elf', sources: ['guests/demo/kernel.c', 'guests/demo/machine.c', 'guests/demo/console.c', 'guests/demo/user.c'] },
  { name: 'guest-rv64i', elf: 'guests/bin/rv64i.elf', sources: ['guests/rv64i/rv64i.c', 'guests/common/rt.c'] },
];

const run = (command, args) => execFileSync(command, args, { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024, stdio: ['ignore', 'pipe', 'pipe'] });

function lines(elf) {
  const rows = [];
  for (const text of run(`${CROSS}objdump`, ['--dwarf=decodedline', elf]).split('\n')) {
    const match = /^(\S+)\s+(\d+|-)\s+(0x[0-9a-f]+)(?:\s+\d+)?(\s+x)?\s*$/.exec(text);
    if (match === null || match[2] === '-') continue; // end_sequence rows carry no line
    rows.push([match[1], Number(match[2]), match[3], match[4] === undefined ? 0 : 1]);
  }
  return rows;
}

function addr2line(elf, rows) {
  const addresses = [];
  const seen = new Set();
  for (const [, , address] of rows) {
    for (const candidate of [BigInt(address), BigInt(address) + 2n]) {
      const key = `0x${candidate.toString(16)}`;
      if (!seen.has(key)) {
        seen.add(key);
        addresses.push(key);
      }
    }
  }
  // Spread the sample over the whole file when there are many rows.
  const step = Math.max(1, Math.ceil(addresses.length / 400));
  const sample = addresses.filter((_, index) => index % step === 0);
  const output = run(`${CROSS}addr2line`, ['-a', '-f', '-i', '-e', elf, ...sample]).split('\n');
  const result = [];
  let current;
  for (let index = 0; index < output.length; index++) {
    const text = output[index];
    if (/^0x[0-9a-f]+$/.test(text)) {
      current = { address: `0x${BigInt(text).toString(16)}`, frames: [] };
      result.push(current);
    } else if (text !== '' && current !== undefined) {
      const where = output[++index] ?? '';
      const match = /^(.*):(\d+|\?)(?: \(discriminator \d+\))?$/.exec(where);
      current.frames.push([text, match?.[1] ?? '??', match === null || match[2] === '?' ? 0 : Number(match[2])]);
    }
  }
  return result;
}

function frames(elf) {
  const result = [];
  let fde;
  let columns = [];
  for (const text of run(`${CROSS}readelf`, ['--debug-dump=frames-interp', elf]).split('\n')) {
    const header = /FDE cie=[0-9a-f]+ pc=([0-9a-f]+)\.\.([0-9a-f]+)/.exec(text);
    if (header !== null) {
      fde = { low: `0x${BigInt(`0x${header[1]}`).toString(16)}`, high: `0x${BigInt(`0x${header[2]}`).toString(16)}`, rows: [] };
      result.push(fde);
      continue;
    }
    if (/CIE/.test(text)) {
      fde = undefined;
      continue;
    }
    if (/^\s+LOC\s+CFA/.test(text)) {
      columns = text.trim().split(/\s+/).slice(2);
      continue;
    }
    const row = /^([0-9a-f]{8,16})\s+(\S+)\s*(.*)$/.exec(text);
    if (row !== null && fde !== undefined) {
      const values = row[3].trim() === '' ? [] : row[3].trim().split(/\s+/);
      const registers = {};
      columns.forEach((column, index) => (registers[column] = values[index]));
      fde.rows.push([`0x${BigInt(`0x${row[1]}`).toString(16)}`, row[2], registers]);
    }
  }
  return result;
}

function breakpoints(elf, sources) {
  const requests = [];
  for (const source of sources) {
    const count = readFileSync(source, 'utf8').split('\n').length;
    for (let line = 1; line <= count; line++) requests.push({ file: basename(source), path: source, line });
  }
  const args = ['-batch', '-nx'];
  requests.forEach((request, index) => args.push('-ex', `echo @@request ${index}\\n`, '-ex', `break ${request.path}:${request.line}`));
  args.push('-ex', 'echo @@info\\n', '-ex', 'info breakpoints', elf);
  let output;
  try {
    output = run(GDB, args);
  } catch (error) {
    output = error.stdout ?? '';
  }
  const [requestPart, infoPart = ''] = output.split('@@info\n');
  // Which breakpoint number each request got (a refused line gets none).
  const numbers = new Map();
  for (const block of requestPart.split('@@request ').slice(1)) {
    const index = Number(block.slice(0, block.indexOf('\n')));
    const match = /Breakpoint (\d+) at/.exec(block);
    if (match !== null) numbers.set(index, Number(match[1]));
  }
  const locations = new Map();
  for (const text of infoPart.split('\n')) {
    const single = /^(\d+)\s+breakpoint\s+keep\s+y\s+(0x[0-9a-f]+)\s+.*?([^\s:]+):(\d+)\s*$/.exec(text);
    const multiple = /^(\d+)\s+breakpoint\s+keep\s+y\s+<MULTIPLE>/.exec(text);
    const sub = /^(\d+)\.\d+\s+y\s+(0x[0-9a-f]+)\s+.*?([^\s:]+):(\d+)\s*$/.exec(text);
    if (single !== null) {
      locations.set(Number(single[1]), { file: single[3], line: Number(single[4]), addresses: [`0x${BigInt(single[2]).toString(16)}`] });
    } else if (multiple !== null) {
      locations.set(Number(multiple[1]), { file: '', line: 0, addresses: [] });
    } else if (sub !== null && locations.has(Number(sub[1]))) {
      const entry = locations.get(Number(sub[1]));
      entry.file = sub[3];
      entry.line = Number(sub[4]);
      entry.addresses.push(`0x${BigInt(sub[2]).toString(16)}`);
    }
  }
  const result = [];
  requests.forEach((request, index) => {
    const entry = locations.get(numbers.get(index));
    if (entry === undefined) return;
    result.push({ path: request.path, line: request.line, actualFile: basename(entry.file), actualLine: entry.line, addresses: entry.addresses.sort() });
  });
  return result;
}

function parseLocation(text) {
  const register = /^a variable in \$(\w+)$/.exec(text);
  if (register !== null) return { kind: 'register', register: register[1] };
  const address = /^(?:in )?static storage at address (0x[0-9a-f]+)$/.exec(text);
  if (address !== null) return { kind: 'address', address: `0x${BigInt(address[1]).toString(16)}` };
  const fbreg = /^a complex DWARF expression:\s+0: DW_OP_fbreg (-?\d+)$/.exec(text);
  if (fbreg !== null) return { kind: 'frameOffset', offset: Number(fbreg[1]) };
  const addr = /^a complex DWARF expression:\s+0: DW_OP_addr (0x[0-9a-f]+)$/.exec(text);
  if (addr !== null) return { kind: 'address', address: `0x${BigInt(addr[1]).toString(16)}` };
  const breg = /^a complex DWARF expression:\s+0: DW_OP_breg\d+ (-?\d+) \[\$(\w+)\]$/.exec(text);
  if (breg !== null) return { kind: 'registerOffset', register: breg[2], offset: Number(breg[1]) };
  if (/^optimized out$/.test(text)) return { kind: 'unsupported' };
  if (/^a function at address/.test(text)) return { kind: 'function' };
  return { kind: 'other', text };
}

function scopes(elf) {
  // By address (`info scope *0x...`): names can be ambiguous (inlined copies, a kernel and
  // a user function of one name), and gdb resolves a bare name against its current file.
  const functions = new Map();
  const duplicates = new Set();
  for (const text of run(`${CROSS}readelf`, ['-sW', elf]).split('\n')) {
    const match = /:\s+([0-9a-f]+)\s+(\d+)\s+FUNC\s+\w+\s+\w+\s+\d+\s+(\S+)$/.exec(text);
    if (match === null || Number(match[2]) === 0) continue;
    if (functions.has(match[3])) duplicates.add(match[3]);
    functions.set(match[3], `0x${BigInt(`0x${match[1]}`).toString(16)}`);
  }
  for (const name of duplicates) functions.delete(name);
  const args = ['-batch', '-nx'];
  for (const [name, address] of functions) args.push('-ex', `echo @@scope ${name}\\n`, '-ex', `info scope *${address}`);
  args.push(elf);
  const output = run(GDB, args);
  const result = {};
  let current;
  for (const block of output.split('@@scope ').slice(1)) {
    const [name, ...rest] = block.split('\n');
    const symbols = [];
    const text = rest.join('\n');
    for (const part of text.split(/^Symbol /m).slice(1)) {
      const header = /^(\S+) is ([\s\S]*?), length (\d+)\.\s*$/.exec(part.trim());
      if (header === null) continue;
      current = { name: header[1], ranges: [] };
      const body = header[2].trim();
      if (body.startsWith('multi-location:')) {
        for (const range of body.split(/\n\s*Range /).slice(1)) {
          const match = /^(0x[0-9a-f]+)-(0x[0-9a-f]+): ([\s\S]*)$/.exec(range.trim());
          // Empty ranges (low = high) cover nothing.
          if (match !== null && match[1] !== match[2]) current.ranges.push({ low: match[1], high: match[2], ...parseLocation(match[3].replace(/\s+/g, ' ').trim()) });
        }
      } else {
        current.ranges.push(parseLocation(body.replace(/\s+/g, ' ').trim()));
      }
      symbols.push(current);
    }
    result[name] = symbols;
  }
  return result;
}

for (const target of TARGETS) {
  const rows = lines(target.elf);
  const data = {
    source: target.elf,
    tools: run(`${CROSS}objdump`, ['--version']).split('\n')[0] + '; ' + run(GDB, ['--version']).split('\n')[0],
    lines: rows,
    addr2line: addr2line(target.elf, rows),
    frames: frames(target.elf),
    breakpoints: breakpoints(target.elf, target.sources),
    scopes: scopes(target.elf),
  };
  const out = `test/fixtures/symbols/${target.name}.json`;
  writeFileSync(out, JSON.stringify(data) + '\n');
  console.log(`${out}: ${rows.length} rows, ${data.addr2line.length} addresses, ${data.frames.length} FDEs, ${data.breakpoints.length} breakpoints, ${Object.keys(data.scopes).length} scopes`);
}
