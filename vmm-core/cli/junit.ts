// JUnit XML for `ringside test --junit FILE`, in the shape CI systems read (GitHub Actions
// reporters, GitLab, Jenkins): <testsuites> of one <testsuite> per list file, a <testcase> per
// test with its wall time, a <failure> or <error> with the reason and the console's last lines,
// and the whole console output as <system-out>.

export interface JunitTestCase {
  readonly name: string;
  readonly classname: string;
  readonly seconds: number;
  readonly verdict: 'pass' | 'fail' | 'error';
  readonly reason: string;
  /** The failure's body: the reason and the last console lines. */
  readonly details: string;
  readonly console: string;
}

export interface JunitTestSuite {
  readonly name: string;
  readonly timestamp: Date;
  readonly seconds: number;
  readonly cases: readonly JunitTestCase[];
}

/** Characters XML 1.0 does not allow at all (console output has escape sequences and NULs). */
const NOT_XML = /[^\t\n\r\x20-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu;

function escapeXml(text: string): string {
  return text
    .replace(NOT_XML, (character) => `\\x${character.codePointAt(0)!.toString(16).padStart(2, '0')}`)
    .replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;')
    // A reader turns a raw CR (LF) into LF; as a reference it stays what the guest printed.
    .replace(/\r/g, '&#13;');
}

/** Attribute values keep their line breaks only as character references. */
const attribute = (text: string): string => escapeXml(text).replace(/\n/g, '&#10;').replace(/\t/g, '&#9;');

const seconds = (value: number): string => value.toFixed(3);

export function junitXml(suites: readonly JunitTestSuite[]): string {
  const count = (verdict: JunitTestCase['verdict']) => (suite: JunitTestSuite): number => suite.cases.filter((test) => test.verdict === verdict).length;
  const total = (measure: (suite: JunitTestSuite) => number): number => suites.reduce((sum, suite) => sum + measure(suite), 0);
  const lines = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="ringside" tests="${total((suite) => suite.cases.length)}" failures="${total(count('fail'))}" ` +
      `errors="${total(count('error'))}" time="${seconds(total((suite) => suite.seconds))}">`,
  ];
  for (const suite of suites) {
    lines.push(`  <testsuite name="${attribute(suite.name)}" tests="${suite.cases.length}" failures="${count('fail')(suite)}" ` +
      `errors="${count('error')(suite)}" skipped="0" time="${seconds(suite.seconds)}" timestamp="${suite.timestamp.toISOString().replace(/\.[0-9]+Z$/, '')}">`);
    for (const test of suite.cases) {
      lines.push(`    <testcase name="${attribute(test.name)}" classname="${attribute(test.classname)}" time="${seconds(test.seconds)}">`);
      if (test.verdict !== 'pass') {
        const element = test.verdict === 'fail' ? 'failure' : 'error';
        lines.push(`      <${element} message="${attribute(test.reason)}" type="${element === 'failure' ? 'ringside.TestFailure' : 'ringside.EmulatorError'}">` +
          `${escapeXml(test.details)}</${element}>`);
      }
      lines.push(`      <system-out>${escapeXml(test.console)}</system-out>`);
      lines.push('    </testcase>');
    }
    lines.push('  </testsuite>');
  }
  lines.push('</testsuites>', '');
  return lines.join('\n');
}
