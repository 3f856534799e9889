// Writes the editor's language assets into dist/ (called by scripts/build.mjs; the .vsix ships
// dist/): the JSON schema of `*.ringside.json` machine config files, generated from vmm-core's
// MACHINE_OPTIONS_SCHEMA, and the `riscv-asm` TextMate grammar and language configuration,
// generated from vmm-core's instruction, register and CSR tables.
import { build } from 'esbuild';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const bundled = await build({
  stdin: {
    contents: [
      "export { MACHINE_OPTIONS_SCHEMA } from './vmm-core/machine/config';",
      "export { riscvAssemblyGrammar, riscvAssemblyLanguageConfiguration } from './language-server/assembly/grammar';",
    ].join('\n'),
    resolveDir: '.',
    loader: 'ts',
  },
  bundle: true,
  platform: 'node',
  format: 'cjs',
  write: false,
  logLevel: 'warning',
});
const module = { exports: {} };
new Function('module', 'exports', 'require', bundled.outputFiles[0].text)(module, module.exports, createRequire(import.meta.url));
const { MACHINE_OPTIONS_SCHEMA, riscvAssemblyGrammar, riscvAssemblyLanguageConfiguration } = module.exports;

function write(path, value) {
  mkdirSync(path.slice(0, path.lastIndexOf('/')), { recursive: true });
  writeFileSync(path, `${JSON.stringify(value, null, 2)}\n`);
}

write('dist/schemas/machine.schema.json', MACHINE_OPTIONS_SCHEMA);
write('dist/syntaxes/riscv-asm.tmLanguage.json', riscvAssemblyGrammar());
write('dist/syntaxes/riscv-asm.language-configuration.json', riscvAssemblyLanguageConfiguration());
