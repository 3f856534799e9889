// Opens a disk image with the options given as JSON in argv[2] and prints what happened as
// JSON: the permission tests run it as an unprivileged user (root ignores file permissions).
import { openDiskImage } from '../../vmm-core/bridges/disk';
import { BridgeError } from '../../vmm-core/bridges/types';

const options = JSON.parse(process.argv[2]);
try {
  const disk = openDiskImage(options);
  const sector = new Uint8Array(512);
  disk.read(0, sector);
  let writeError: string | null = null;
  try {
    disk.write(0, sector);
  } catch (error) {
    writeError = (error as Error).message;
  }
  disk.close();
  console.log(JSON.stringify({ ok: true, description: disk.description, readOnly: disk.readOnly, writeError }));
} catch (error) {
  console.log(JSON.stringify({ ok: false, bridgeError: error instanceof BridgeError, message: (error as Error).message }));
}
