// Tests that cross-check against a Debian tool (QEMU, qemu-img, dtc, tshark, passt, OpenSBI …)
// fail, naming the install script, when the tool is missing: a check that did not run is not
// reported as passed or skipped.

/** `missing` is false when the tool is there, or a sentence saying what is missing. */
export function requireTool(missing: string | false | undefined): void {
  if (typeof missing === 'string' && missing !== '') {
    const hint = /\.sh\b/.test(missing) ? '' : ' (bash scripts/install-deps.sh installs the test tools)';
    throw new Error(`this test cannot run here: ${missing}${hint}`);
  }
}
