// Where relative DWARF source paths resolve when launch.json names no `cwd`. Not the adapter's
// working directory (VS Code's, unrelated to the guest): the program's directory, or the
// nearest directory above it where the sources are, because a kernel built with
// -fdebug-prefix-map=$PWD=. records paths relative to its source tree (guests/demo/start.S),
// while the ELF lands in a build folder below it (guests/bin/demo.elf).

import { existsSync } from 'node:fs';
import { dirname, join, resolve as resolvePath } from 'node:path';

/** Directories above the program's tried for a source path. */
const MAX_LEVELS_UP = 8;
/** Distinct source paths looked for before settling on the program's directory. */
const MAX_PATHS_TRIED = 32;

export class SourceRoot {
  private chosen: string | undefined;
  private readonly tried = new Set<string>();

  constructor(private readonly programDirectory: string, private readonly exists: (path: string) => boolean = existsSync) {}

  /** The local path of a relative DWARF path; the first one found fixes the directory for all. */
  resolve(relativePath: string): string {
    if (this.chosen === undefined && this.tried.size < MAX_PATHS_TRIED && !this.tried.has(relativePath)) {
      this.tried.add(relativePath);
      let directory = this.programDirectory;
      for (let level = 0; level <= MAX_LEVELS_UP; level++) {
        if (this.exists(join(directory, relativePath))) {
          this.chosen = directory;
          break;
        }
        const parent = dirname(directory);
        if (parent === directory) break;
        directory = parent;
      }
    }
    return resolvePath(this.chosen ?? this.programDirectory, relativePath);
  }
}
