// The threads of a process as Linux reports them (/proc), for tests of thread priorities.

import { readdirSync, readFileSync } from 'node:fs';

/** Nice value of each thread of a process (field 19 of /proc/PID/task/TID/stat). */
export function threadNiceValues(pid: number): Map<number, number> {
  const values = new Map<number, number>();
  for (const name of readdirSync(`/proc/${pid}/task`)) {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${name}/stat`, 'utf8');
      // After "(comm)" the fields start at 3: nice is field 19.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      values.set(Number(name), Number(fields[19 - 3]));
    } catch {
      // The thread ended meanwhile.
    }
  }
  return values;
}
