// What package.json contributes for language support, and the files it points at: the
// riscv-asm language (grammar, configuration, breakpoints) and the *.ringside.json schema,
// generated into dist/ from vmm-core's MACHINE_OPTIONS_SCHEMA by the build.

import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { validateJson, type JsonSchema } from '../../debug-adapter/json-schema';
import { MACHINE_OPTIONS_SCHEMA } from '../../vmm-core/machine/config';
import { ROOT } from './support';

interface Contributes {
  languages: Array<{ id: string; extensions: string[]; configuration: string }>;
  grammars: Array<{ language: string; scopeName: string; path: string }>;
  breakpoints: Array<{ language: string }>;
  jsonValidation: Array<{ fileMatch: string; url: string }>;
  configuration: Array<{ properties: Record<string, { enum?: string[]; default?: unknown }> }>;
  debuggers: Array<{ configurationAttributes: { launch: { properties: Record<string, unknown> } } }>;
}

const contributes = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { contributes: Contributes }).contributes;

function readJson(relativePath: string): unknown {
  const path = join(ROOT, relativePath);
  assert.ok(existsSync(path), `${relativePath} is missing: npm run build writes it`);
  return JSON.parse(readFileSync(path, 'utf8'));
}

test('.S and .s open as riscv-asm, with a grammar and a language configuration, and take breakpoints', () => {
  const language = contributes.languages.find((entry) => entry.id === 'riscv-asm');
  assert.ok(language !== undefined);
  assert.deepEqual(language.extensions, ['.S', '.s']);
  const configuration = readJson(language.configuration) as { comments: { lineComment: string; blockComment: string[] } };
  assert.deepEqual(configuration.comments, { lineComment: '#', blockComment: ['/*', '*/'] });
  const grammar = contributes.grammars.find((entry) => entry.language === 'riscv-asm')!;
  assert.equal((readJson(grammar.path) as { scopeName: string }).scopeName, grammar.scopeName);
  assert.ok(contributes.breakpoints.some((entry) => entry.language === 'riscv-asm'), 'breakpoints must be allowed in riscv-asm');
});

test('the ringside.asm.privilege setting is M, S or U', () => {
  const properties = Object.assign({}, ...contributes.configuration.map((entry) => entry.properties)) as Contributes['configuration'][0]['properties'];
  assert.deepEqual(properties['ringside.asm.privilege'].enum, ['M', 'S', 'U']);
  assert.equal(properties['ringside.asm.privilege'].default, 'M');
  assert.deepEqual(properties['ringside.asm.includePaths'].default, []);
});

test('*.ringside.json is validated against the machine schema generated from vmm-core', () => {
  const entry = contributes.jsonValidation.find((candidate) => candidate.fileMatch === '*.ringside.json');
  assert.ok(entry !== undefined);
  const schema = readJson(entry.url) as JsonSchema;
  assert.deepEqual(schema, JSON.parse(JSON.stringify(MACHINE_OPTIONS_SCHEMA)));
  assert.deepEqual(validateJson(schema, readJson('test/fixtures/language-server/demo.ringside.json')), []);
  const problems = validateJson(schema, { kernel: 'k.elf', harts: 99, idle: 'sometimes', colour: 'red' });
  assert.equal(problems.length, 3, problems.join('\n'));
  for (const name of ['harts', 'idle', 'colour']) assert.ok(problems.some((problem) => problem.includes(name)), `${name}: ${problems.join('; ')}`);
});

test('launch.json attributes carry every machine option, so VS Code validates and completes them', () => {
  const launch = contributes.debuggers[0].configurationAttributes.launch.properties;
  for (const [name, option] of Object.entries(MACHINE_OPTIONS_SCHEMA.properties)) {
    assert.deepEqual(launch[name === 'kernel' ? 'program' : name], JSON.parse(JSON.stringify(option)), name);
  }
});
