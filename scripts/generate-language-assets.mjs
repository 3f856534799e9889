// Writes the editor's language assets into dist/ (called by scripts/build.mjs; the .vsix ships
// dist/): the JSON schema of `*.ringside.json` machine config files, generated from vmm-core's
// MACHINE_OPTIONS_SCHEMA, and the `riscv-asm` TextMate grammar and language configuration,
// generated from vmm-core's instruction, register and CSR tables.
import { mkdirSync, writeFileSync } from 'node:fs';
import { loadTypeScript } from './load-typescript.mjs';

const { MACHINE_OPTIONS_SCHEMA, riscvAssemblyGrammar, riscvAssemblyLanguageConfiguration } = await loadTypeScript([
  "export { MACHINE_OPTIONS_SCHEMA } from './vmm-core/machine/config';",
  "export { riscvAssemblyGrammar, riscvAssemblyLanguageConfiguration } from './language-server/assembly/grammar';",
].join('\n'));

function write(path, value) {
  mkdirSync(path.slice(0, path.lastIndexOf('/')), { recursive: true });
  writeFileSync(path, `${JSON.stringify(value, null, 2)}\n`);
}

write('dist/schemas/machine.schema.json', MACHINE_OPTIONS_SCHEMA);
write('dist/syntaxes/riscv-asm.tmLanguage.json', riscvAssemblyGrammar());
write('dist/syntaxes/riscv-asm.language-configuration.json', riscvAssemblyLanguageConfiguration());
