// Format probing from the first sector. As in QEMU, an image that carries another format's
// signature is never silently used as raw when the format was not given.

export type ProbedFormat = 'raw' | 'qcow2' | 'qcow' | 'qed' | 'vmdk' | 'vhdx' | 'vpc' | 'vdi';

export const QCOW_MAGIC = 0x514649fb; // "QFI\xfb"

const ascii = (bytes: Uint8Array, offset: number, text: string): boolean => {
  if (bytes.length < offset + text.length) return false;
  for (let i = 0; i < text.length; i++) if (bytes[offset + i] !== text.charCodeAt(i)) return false;
  return true;
};

/** The format the first bytes of an image (at least 512 when the file has them) announce. */
export function probeFormat(head: Uint8Array): ProbedFormat {
  const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
  if (head.length >= 8 && view.getUint32(0) === QCOW_MAGIC) return view.getUint32(4) === 1 ? 'qcow' : 'qcow2';
  if (ascii(head, 0, 'QED\0')) return 'qed';
  if (ascii(head, 0, 'KDMV') || ascii(head, 0, '# Disk DescriptorFile')) return 'vmdk';
  if (ascii(head, 0, 'vhdxfile')) return 'vhdx';
  if (ascii(head, 0, 'conectix')) return 'vpc';
  if (head.length >= 0x44 && view.getUint32(0x40, true) === 0xbeda107f) return 'vdi';
  return 'raw';
}

const FORMAT_NAMES: Record<ProbedFormat, string> = {
  raw: 'raw',
  qcow2: 'qcow2',
  qcow: 'qcow (version 1)',
  qed: 'QED',
  vmdk: 'VMDK',
  vhdx: 'VHDX',
  vpc: 'VHD (vpc)',
  vdi: 'VDI',
};

export const formatName = (format: ProbedFormat): string => FORMAT_NAMES[format];
