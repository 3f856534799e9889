// Holds a disk image open for the locking tests: opens it with the options given as JSON in
// argv[2], prints "ready" (or "error: <message>"), then obeys stdin: "close" closes the image
// and prints "closed"; end of input exits.
import { createInterface } from 'node:readline';
import { openDiskImage } from '../../vmm-core/bridges/disk';

let disk: ReturnType<typeof openDiskImage> | null = null;
try {
  disk = openDiskImage(JSON.parse(process.argv[2]));
  console.log('ready');
} catch (error) {
  console.log(`error: ${(error as Error).message}`);
}
const input = createInterface({ input: process.stdin });
input.on('line', (line) => {
  if (line.trim() === 'close') {
    disk?.close();
    disk = null;
    console.log('closed');
  }
});
input.on('close', () => process.exit(0));
