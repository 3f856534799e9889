#!/usr/bin/env node
// Runs the guests listed in guests/manifest.json on the reference QEMU and checks each one's
// exit code and expected output.  Usage (from the repository root):
//   node guests/run-qemu.mjs [--count] [name...]
// --count also measures retired instructions (QEMU exec log in single-step mode; slow for
// big guests, so bench is measured through the instret it prints).
// --update (with --count) writes the measured counts into the manifest as qemuInstructions.
import { readFileSync, writeFileSync, mkdtempSync, rmSync, createReadStream } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync, spawn } from 'node:child_process';

const FW = '/usr/lib/riscv64-linux-gnu/opensbi/generic/fw_jump.elf';
const args = process.argv.slice(2);
const count = args.includes('--count');
const update = args.includes('--update');
const names = args.filter((a) => !a.startsWith('--'));
const manifest = JSON.parse(readFileSync('guests/manifest.json', 'utf8'));

function qemuArgs(g) {
  const base = ['-nographic', '-icount', 'shift=0', '-kernel', g.elf, '-smp', String(g.harts ?? 1)];
  switch (g.boot) {
    case 'bare': return ['-M', 'virt', '-bios', 'none', ...base];
    case 'firmware':
    case 'direct': // QEMU has no built-in SBI: the reference run of a "direct" guest uses OpenSBI
      return ['-M', 'virt', '-bios', FW, ...base];
    case 'htif': return ['-M', 'spike', '-bios', 'none', ...base];
    default: throw new Error(`unknown boot ${g.boot}`);
  }
}

function countInstructions(g) {
  // one exec-log line per instruction in single-step mode; streamed through a FIFO
  const dir = mkdtempSync(join(tmpdir(), 'ringside-count-'));
  const fifo = join(dir, 'log');
  spawnSync('mkfifo', [fifo]);
  return new Promise((resolve) => {
    const p = spawn('qemu-system-riscv64', [...qemuArgs(g), '-singlestep', '-d', 'exec,nochain', '-D', fifo],
      { stdio: ['ignore', 'ignore', 'ignore'] });
    let n = 0, tail = '';
    const rs = createReadStream(fifo, { encoding: 'latin1' });
    rs.on('data', (s) => {
      s = tail + s;
      let i = 0, j;
      while ((j = s.indexOf('\n', i)) >= 0) { if (s.startsWith('Trace', i)) n++; i = j + 1; }
      tail = s.slice(i);
    });
    rs.on('close', () => { rmSync(dir, { recursive: true, force: true }); resolve(n); });
    p.on('error', () => resolve(0));
  });
}

let passed = 0, failed = 0;
for (const g of manifest) {
  if (names.length && !names.includes(g.name)) continue;
  const r = spawnSync('qemu-system-riscv64', qemuArgs(g), { encoding: 'latin1', timeout: 120000 });
  const out = r.stdout ?? '';
  const problems = [];
  if (r.status !== g.exitCode) problems.push(`exit ${r.status}, want ${g.exitCode}`);
  for (const e of g.expectOutput ?? []) if (!out.includes(e)) problems.push(`missing output "${e}"`);
  let extra = '';
  if (count) {
    const m = /total instret (\d+)/.exec(out);
    const n = m ? Number(m[1]) : await countInstructions(g);
    extra = ` instructions=${n}${m ? ' (guest instret)' : ''}`;
    if (update && g.boot !== 'direct') g.qemuInstructions = n;
  }
  if (problems.length) {
    failed++;
    console.log(`FAIL ${g.name}: ${problems.join('; ')}${extra}`);
    console.log(out.split('\n').slice(-8).map((l) => '   | ' + l).join('\n'));
  } else {
    passed++;
    console.log(`ok   ${g.name}${extra}`);
  }
}
if (update) writeFileSync('guests/manifest.json', JSON.stringify(manifest, null, 2) + '\n');
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
