// The child of the durability test: opens an image and writes blocks forever (until killed),
// flushing every few writes and printing "flushed <seq>" once each flush has returned. What it
// writes is a pure function of the sequence number, so the parent can tell what must be there.
import { openDiskImage } from '../../vmm-core/bridges/disk';
import { durabilityOperation, durabilityBlock, type DurabilityPlan } from './durability-plan';

const plan: DurabilityPlan = JSON.parse(process.argv[2]);
const disk = openDiskImage({ path: plan.path, format: plan.format });
process.stdout.write('opened\n');
for (let seq = 1; seq <= plan.maxOperations; seq++) {
  const operation = durabilityOperation(plan, seq);
  if (operation.kind === 'write') disk.write(operation.slot * plan.blockSectors, durabilityBlock(plan, seq, operation.slot));
  else disk.discard(operation.slot * plan.blockSectors, plan.blockSectors);
  if (operation.flushAfter) {
    disk.flush();
    process.stdout.write(`flushed ${seq}\n`); // a pipe: written synchronously
  }
}
disk.close();
process.stdout.write('done\n');
