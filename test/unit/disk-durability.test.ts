// Durability: a child process writes and flushes; it is SIGKILLed at a random moment. Every
// write up to the last flush it reported must be intact, later ones may be there or not (or torn
// at sector granularity), nothing else may appear; a qcow2 image must pass qemu-img check with
// at most leaked clusters, and must stay usable.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openDiskImage } from '../../vmm-core/bridges/disk';
import { durabilityBlock, durabilityOperation, type DurabilityPlan } from '../disk/durability-plan';
import { NEEDS_QEMU_IMG, pattern, qemuCheck, qemuImg, randomInt, seededRandom, temporaryDirectory } from '../disk/support';
import { requireTool } from '../support/tools';

const WRITER = join(__dirname, '../disk/durability-writer.ts');
const MiB = 1024 * 1024;

interface Round {
  lastFlushed: number;
  exitedByItself: boolean;
}

/** Runs the writer until it has reported `flushes` flushes, then kills it after `delayMs`. */
async function runAndKill(plan: DurabilityPlan, flushes: number, delayMs: number): Promise<Round> {
  const child = spawn(process.execPath, ['--import', 'tsx', WRITER, JSON.stringify(plan)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  let stderr = '';
  let seen = 0;
  let killScheduled = false;
  child.stderr!.on('data', (chunk) => (stderr += chunk));
  // 'close', not 'exit': the writer's last lines can still be in the pipe when it dies, and a
  // flush it reported but this side had not read yet would make its later writes look invalid.
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  child.stdout!.setEncoding('utf8');
  child.stdout!.on('data', (chunk: string) => {
    output += chunk;
    seen = (output.match(/^flushed \d+$/gm) ?? []).length;
    if (!killScheduled && seen >= flushes) {
      killScheduled = true;
      setTimeout(() => child.kill('SIGKILL'), delayMs);
    }
  });
  const code = await exited;
  assert.ok(output.startsWith('opened\n'), `the writer did not start: ${stderr}`);
  const lines = output.split('\n');
  lines.pop(); // a last line without its newline was not completely reported
  const flushed = lines.filter((line) => line.startsWith('flushed ')).map((line) => Number(line.slice(8)));
  return { lastFlushed: flushed.length ? flushed[flushed.length - 1] : 0, exitedByItself: code === 0 };
}

/** Checks every slot against what the plan allows after a kill following flush `lastFlushed`. */
function verify(plan: DurabilityPlan, lastFlushed: number, initial: (slot: number) => Uint8Array): { durable: number; later: number } {
  // Writes after the last reported flush can reach at most the next flush point: the writer
  // prints right after each flush and before its next write.
  let horizon = lastFlushed + 1;
  while (horizon < plan.maxOperations && !durabilityOperation(plan, horizon).flushAfter) horizon++;
  const blockBytes = plan.blockSectors * 512;
  const settled: (Uint8Array | null)[] = new Array(plan.slots).fill(null);
  const pending: Uint8Array[][] = Array.from({ length: plan.slots }, () => []);
  const zeros = new Uint8Array(blockBytes);
  for (let seq = 1; seq <= horizon; seq++) {
    const operation = durabilityOperation(plan, seq);
    const content = operation.kind === 'write' ? durabilityBlock(plan, seq, operation.slot) : zeros;
    if (seq <= lastFlushed) settled[operation.slot] = content;
    else pending[operation.slot].push(content);
  }
  const disk = openDiskImage({ path: plan.path, format: plan.format, readOnly: true });
  const block = new Uint8Array(blockBytes);
  let durable = 0;
  let later = 0;
  try {
    for (let slot = 0; slot < plan.slots; slot++) {
      disk.read(slot * plan.blockSectors, block);
      const allowed = [settled[slot] ?? initial(slot), ...pending[slot]];
      for (let sector = 0; sector < plan.blockSectors; sector++) {
        const bytes = block.subarray(sector * 512, sector * 512 + 512);
        const match = allowed.findIndex((version) => Buffer.compare(bytes, version.subarray(sector * 512, sector * 512 + 512)) === 0);
        assert.ok(match >= 0, `slot ${slot} sector ${sector}: contents match neither the last flushed write nor a later one (last flush ${lastFlushed})`);
        if (sector === 0) {
          if (match === 0 && settled[slot]) durable++;
          if (match > 0) later++;
        }
      }
    }
  } finally {
    disk.close();
  }
  return { durable, later };
}

interface Setup {
  name: string;
  format: 'raw' | 'qcow2';
  create: (dir: string, path: string) => void;
  initial?: (dir: string) => (slot: number) => Uint8Array;
}

const SIZE = 8 * MiB;
const setups: Setup[] = [
  { name: 'raw', format: 'raw', create: (_dir, path) => { writeFileSync(path, ''); truncateSync(path, SIZE); } },
  { name: 'qcow2 (64 KiB clusters)', format: 'qcow2', create: (_dir, path) => qemuImg('create', '-q', '-f', 'qcow2', path, String(SIZE)) },
  {
    name: 'qcow2 (512 B clusters, 64-bit refcounts: new refcount blocks and a growing table)',
    format: 'qcow2',
    create: (_dir, path) => qemuImg('create', '-q', '-f', 'qcow2', '-o', 'cluster_size=512,refcount_bits=64', path, String(SIZE)),
  },
  {
    name: 'qcow2 v2 over a raw backing file',
    format: 'qcow2',
    create: (dir, path) => {
      writeFileSync(join(dir, 'base.raw'), pattern(SIZE, 0xba5e));
      qemuImg('create', '-q', '-f', 'qcow2', '-o', 'compat=0.10,cluster_size=4096', '-b', join(dir, 'base.raw'), '-F', 'raw', path, String(SIZE));
    },
    initial: (dir) => {
      const base = new Uint8Array(readFileSync(join(dir, 'base.raw')));
      return (slot) => base.subarray(slot * 8 * 512, (slot + 1) * 8 * 512);
    },
  },
];

for (const [index, setup] of setups.entries()) {
  test(`SIGKILL mid-writes: ${setup.name} keeps every flushed write${setup.format === 'qcow2' ? ', qemu-img check finds no errors' : ''}`, async (t) => {
    requireTool(NEEDS_QEMU_IMG);
    const dir = temporaryDirectory('durability');
    const random = seededRandom(0xd00d + index);
    try {
      for (let round = 0; round < 2; round++) {
        const path = join(dir.path, `round${round}.${setup.format === 'raw' ? 'img' : 'qcow2'}`);
        setup.create(dir.path, path);
        const plan: DurabilityPlan = { path, format: setup.format, slots: 1024, blockSectors: 8, seed: index * 100 + round, maxOperations: 50000 };
        const flushes = 2 + randomInt(random, 60);
        const result = await runAndKill(plan, flushes, randomInt(random, 25));
        const initial = setup.initial ? setup.initial(dir.path) : () => new Uint8Array(plan.blockSectors * 512);
        if (setup.format === 'qcow2') {
          const check = qemuCheck(path);
          assert.equal(check.checkErrors, 0, check.output);
          assert.equal(check.corruptions, 0, check.output);
          assert.ok(check.status === 0 || check.status === 3, check.output);
          t.diagnostic(`round ${round}: killed after flush ${result.lastFlushed}; qemu-img check: ${check.leaks} leaked clusters`);
        } else {
          t.diagnostic(`round ${round}: killed after flush ${result.lastFlushed}`);
        }
        assert.ok(result.lastFlushed > 0 || result.exitedByItself, 'at least one flush was reported');
        const { durable, later } = verify(plan, result.lastFlushed, initial);
        t.diagnostic(`round ${round}: ${durable} flushed blocks intact, ${later} blocks show unflushed later writes`);
        // The image stays usable: Ringside opens it again for writing and QEMU still finds no errors.
        const disk = openDiskImage({ path, format: setup.format });
        disk.write(0, pattern(8192, 0xafe7));
        disk.close();
        if (setup.format === 'qcow2') {
          const check = qemuCheck(path);
          assert.equal(check.checkErrors + check.corruptions, 0, check.output);
        }
      }
    } finally {
      dir.remove();
    }
  });
}
