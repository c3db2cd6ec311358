import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { parseLogcatLine } from '../../../src/platforms/android/logcat-line.js';
import { LogLines } from '../../../src/platforms/android/log-lines.js';
import { formatThreadtime, type FakeLogLevel } from '../../helpers/fake-adb/fake-logcat.js';
import { fuzzParameters } from '../../helpers/fuzz-harness.js';

const NOW = new Date(2026, 5, 15, 12, 0, 0);
const LEVELS: Record<FakeLogLevel, string> = { V: 'verbose', D: 'debug', I: 'info', W: 'warn', E: 'error', F: 'fatal' };

describe('parseLogcatLine (logcat -v threadtime)', () => {
  it('reads every field of a line', () => {
    assert.deepEqual(parseLogcatLine('06-15 11:59:58.123  1234  5678 W ActivityManager: Slow operation: 12ms', NOW), {
      date: new Date(2026, 5, 15, 11, 59, 58, 123).toISOString(),
      type: 'warn',
      pid: 1234,
      tid: 5678,
      tag: 'ActivityManager',
      message: 'Slow operation: 12ms',
    });
  });

  it('maps each level letter, A (assert) to fatal', () => {
    for (const [letter, type] of [...Object.entries(LEVELS), ['A', 'fatal']]) {
      assert.equal(parseLogcatLine(`06-15 11:00:00.000     1     1 ${letter} t: m`, NOW)?.type, type, letter);
    }
    assert.equal(parseLogcatLine('06-15 11:00:00.000     1     1 X t: m', NOW), undefined);
  });

  it('keeps the padding out of the tag, spaces inside it, and an empty message', () => {
    assert.equal(parseLogcatLine('06-15 11:00:00.000   10   11 I My Tag  : hello', NOW)?.tag, 'My Tag');
    assert.deepEqual(
      [parseLogcatLine('06-15 11:00:00.000   10   11 I Tag     : ', NOW)?.message, parseLogcatLine('06-15 11:00:00.000   10   11 I Tag:', NOW)?.message],
      ['', ''],
    );
  });

  it('drops the CR of a terminal that sent CRLF', () => {
    assert.equal(parseLogcatLine('06-15 11:00:00.000 1 1 I t: over a pty\r', NOW)?.message, 'over a pty');
  });

  it('uses the current year, or last year for a stamp more than a day ahead (read just after New Year)', () => {
    const newYear = new Date(2027, 0, 1, 0, 0, 5);
    assert.equal(parseLogcatLine('12-31 23:59:59.000 1 1 I t: m', newYear)?.date, new Date(2026, 11, 31, 23, 59, 59).toISOString());
    assert.equal(parseLogcatLine('01-01 00:00:01.000 1 1 I t: m', newYear)?.date, new Date(2027, 0, 1, 0, 0, 1).toISOString());
    // A device clock a few hours ahead still counts as this year.
    assert.equal(parseLogcatLine('06-15 20:00:00.000 1 1 I t: m', NOW)?.date, new Date(2026, 5, 15, 20).toISOString());
    // With `-v year` the line says its year.
    assert.equal(parseLogcatLine('2024-02-29 10:00:00.000 1 1 I t: m', NOW)?.date, new Date(2024, 1, 29, 10).toISOString());
  });

  it('refuses stamps that are no time at all', () => {
    for (const stamp of ['02-30 10:00:00.000', '13-01 10:00:00.000', '00-10 10:00:00.000', '06-15 24:00:00.000', '06-15 10:60:00.000', '2025-02-29 10:00:00.000']) {
      assert.equal(parseLogcatLine(`${stamp} 1 1 I t: m`, NOW), undefined, stamp);
    }
  });

  it('skips what is not an entry: markers, logcat messages, garbage, absurd pids', () => {
    for (const line of [
      '--------- beginning of main',
      'logcat: Unknown option',
      '',
      '06-15 11:00:00.000 1 1 I no colon anywhere',
      '06-15 11:00:00.000 12345678901 1 I t: eleven digits',
      '06-15 11:00:00.000 -1 1 I t: negative',
      '\u0000\u001b[2J06-15 11:00:00.000 1 1 I t: prefixed',
    ]) {
      assert.equal(parseLogcatLine(line, NOW), undefined, JSON.stringify(line));
    }
  });

  it('reads back any entry logcat would print (property)', () => {
    const tag = fc.string({ maxLength: 40 }).filter((t) => !/[:\n\r]/.test(t) && t === t.trimEnd());
    const message = fc.string({ maxLength: 200 }).filter((m) => !/[\n\r]/.test(m));
    const date = fc.date({ min: new Date(2026, 0, 1), max: new Date(2026, 5, 15, 11), noInvalidDate: true });
    fc.assert(
      fc.property(fc.constantFrom<FakeLogLevel>('V', 'D', 'I', 'W', 'E', 'F'), tag, message, fc.integer({ min: 0, max: 2 ** 31 - 1 }), fc.integer({ min: 0, max: 2 ** 31 - 1 }), date, (level, t, m, pid, tid, d) => {
        const line = formatThreadtime({ level, tag: t, message: m, pid, tid, date: d });
        assert.deepEqual(parseLogcatLine(line, NOW), { date: d.toISOString(), type: LEVELS[level], pid, tid, tag: t, message: m });
      }),
      fuzzParameters(500),
    );
  });

  it('never throws on any text, and what it returns is well formed (property)', () => {
    const header = fc.constantFrom('', '06-15 11:00:00.000 1 1 I ', '12-31 23:59:59.999 99 99 E ', '02-29 00:00:00.000 1 2 F ');
    fc.assert(
      fc.property(header, fc.string({ maxLength: 300, unit: 'binary' }), (prefix, text) => {
        const entry = parseLogcatLine(prefix + text, NOW);
        if (entry === undefined) return;
        assert.ok(!Number.isNaN(Date.parse(entry.date)));
        assert.ok(['verbose', 'debug', 'info', 'warn', 'error', 'fatal'].includes(entry.type));
        assert.ok(Number.isSafeInteger(entry.pid) && Number.isSafeInteger(entry.tid));
        assert.equal(typeof entry.tag, 'string');
        assert.equal(typeof entry.message, 'string');
      }),
      fuzzParameters(1000),
    );
  });
});

describe('LogLines', () => {
  it('gives the same lines however the stream is cut into chunks (property)', () => {
    const text = fc.array(fc.string({ maxLength: 30, unit: 'grapheme' }), { maxLength: 20 }).map((lines) => lines.map((l) => l.replace(/\n/g, ' ')).join('\n') + '\n');
    fc.assert(
      fc.property(text, fc.array(fc.nat(), { maxLength: 10 }), (joined, cuts) => {
        const bytes = Buffer.from(joined, 'utf8');
        const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
        const lines = new LogLines(1024);
        const got: string[] = [];
        let start = 0;
        for (const point of [...points, bytes.length]) {
          got.push(...lines.push(bytes.subarray(start, point)));
          start = point;
        }
        assert.deepEqual(got, joined.split('\n').slice(0, -1));
        assert.equal(lines.flush(), undefined);
      }),
      fuzzParameters(300),
    );
  });

  it('cuts an endless line at the limit and drops the rest of it, then carries on', () => {
    const lines = new LogLines(10);
    const got = [...lines.push(Buffer.from('0123456789abcdef')), ...lines.push(Buffer.from('ghij')), ...lines.push(Buffer.from('klm\nnext\nla')), ...lines.push(Buffer.from('st'))];
    assert.deepEqual(got, ['0123456789', 'next']);
    assert.equal(lines.flush(), 'last');
  });
});
