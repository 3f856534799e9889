// Self time by function from a V8 .cpuprofile (node --cpu-prof): the top N functions with
// their file:line, share of samples and milliseconds, so a profile can be read without a GUI.
//
//   node bench/profile-summary.mjs FILE.cpuprofile [--top N]

import { readFileSync } from 'node:fs';

const [file] = process.argv.slice(2).filter((argument) => !argument.startsWith('--'));
const topIndex = process.argv.indexOf('--top');
const top = topIndex > 0 ? Number(process.argv[topIndex + 1]) : 30;
if (file === undefined) {
  console.error('usage: node bench/profile-summary.mjs FILE.cpuprofile [--top N]');
  process.exit(2);
}
const profile = JSON.parse(readFileSync(file, 'utf8'));
const nodeById = new Map(profile.nodes.map((node) => [node.id, node]));
const selfMicroseconds = new Map();
// timeDeltas[i] is the time before samples[i]; attribute it to that sample's function.
profile.samples.forEach((id, index) => {
  const frame = nodeById.get(id).callFrame;
  const where = frame.url ? `${frame.url.replace(/^.*\//, '')}:${frame.lineNumber + 1}` : '';
  const key = `${frame.functionName || '(anonymous)'} ${where}`.trim();
  selfMicroseconds.set(key, (selfMicroseconds.get(key) ?? 0) + (profile.timeDeltas[index] ?? 0));
});
const total = [...selfMicroseconds.values()].reduce((sum, value) => sum + value, 0);
const rows = [...selfMicroseconds.entries()].sort((a, b) => b[1] - a[1]).slice(0, top);
console.log(`${file}: ${(total / 1000).toFixed(0)} ms sampled`);
for (const [key, microseconds] of rows) {
  console.log(`${(100 * microseconds / total).toFixed(1).padStart(5)}%  ${(microseconds / 1000).toFixed(0).padStart(6)} ms  ${key}`);
}
