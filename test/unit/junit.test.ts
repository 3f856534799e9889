// The JUnit writer of `ringside test`: whatever a guest prints (terminal escapes, NUL bytes,
// markup characters) and whatever a test is called, the XML is well-formed and reads back to
// the same text, with the characters XML cannot hold written as \xNN.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { junitXml, type JunitTestCase } from '../../vmm-core/cli/junit';
import { findAll, parseXml } from '../support/xml';

const failing: JunitTestCase = {
  name: 'boots <fast> & "clean"',
  classname: 'kernel',
  seconds: 1.23456,
  verdict: 'fail',
  reason: "console printed 'panic: <oops>'\nsecond line",
  details: 'reason\n\nlast console lines:\n\x1b[31mred\x1b[0m',
  console: 'boot\r\n\x1b[31mpanic\x1b[0m\x00 & <done> \u{1F600}\n',
};

test('JUnit XML: markup, escapes and control characters survive a round trip', () => {
  const xml = junitXml([{ name: 'suite "one"', timestamp: new Date(Date.UTC(2026, 0, 2, 3, 4, 5, 678)), seconds: 2, cases: [
    failing,
    { ...failing, name: 'passes', verdict: 'pass', console: '' },
    { ...failing, name: 'errs', verdict: 'error' },
  ] }]);
  const root = parseXml(xml);
  assert.equal(root.name, 'testsuites');
  assert.deepEqual([root.attributes.tests, root.attributes.failures, root.attributes.errors, root.attributes.time], ['3', '1', '1', '2.000']);
  const [suite] = findAll(root, 'testsuite');
  assert.equal(suite.attributes.name, 'suite "one"');
  assert.equal(suite.attributes.timestamp, '2026-01-02T03:04:05');
  const cases = findAll(suite, 'testcase');
  assert.deepEqual(cases.map((element) => element.attributes.name), ['boots <fast> & "clean"', 'passes', 'errs']);
  assert.equal(cases[0].attributes.time, '1.235');
  const [failure] = findAll(cases[0], 'failure');
  // Attribute values keep their line break.
  assert.equal(failure.attributes.message, "console printed 'panic: <oops>'\nsecond line");
  assert.equal(failure.text, 'reason\n\nlast console lines:\n\\x1b[31mred\\x1b[0m');
  assert.equal(findAll(cases[0], 'system-out')[0].text, 'boot\r\n\\x1b[31mpanic\\x1b[0m\\x00 & <done> \u{1F600}\n');
  assert.equal(findAll(cases[1], 'failure').length + findAll(cases[1], 'error').length, 0);
  assert.equal(findAll(cases[1], 'system-out')[0].text, '');
  assert.equal(findAll(cases[2], 'error').length, 1);
  assert.equal(findAll(cases[2], 'failure').length, 0);
});

test('the XML reader the tests use refuses what is not well-formed', () => {
  assert.throws(() => parseXml('<a><b></a>'), /closed by/);
  assert.throws(() => parseXml('<a>\x1b</a>'), /does not allow/);
  assert.throws(() => parseXml('<a>x & y</a>'), /bare '<' or '&'/);
  assert.throws(() => parseXml('<a b=c></a>'), /malformed start tag/);
  assert.throws(() => parseXml('<a></a><b></b>'), /after the root element/);
  assert.equal(parseXml('<a>x\r\ny\rz&#13;</a>').text, 'x\ny\nz\r');
  assert.deepEqual(parseXml('<?xml version="1.0"?><a x="&lt;&#10;"><![CDATA[<raw>]]>&#x41;</a>'),
    { name: 'a', attributes: { x: '<\n' }, children: [], text: '<raw>A' });
});
