import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { untranslate } from '../../../src/platforms/android/adb-bridge.js';
import { isEmulator } from '../../../src/platforms/android/android-devices.js';
import { fuzzParameters } from '../../helpers/fuzz-harness.js';

/** What a terminal does to output: every LF becomes CRLF. */
function crlf(bytes: Uint8Array): Buffer {
  return Buffer.from(Buffer.from(bytes).toString('latin1').replace(/\n/g, '\r\n'), 'latin1');
}

describe('untranslate (shell: output of an old adbd, after `echo`)', () => {
  it('restores any bytes a terminal translated, and leaves untranslated output as it was (property)', () => {
    const bytes = fc.uint8Array({ maxLength: 500 }).chain((random) => fc.constant(Buffer.concat([Buffer.from('\r\n\n\r\x1a'), Buffer.from(random)])));
    fc.assert(
      fc.property(bytes, (original) => {
        assert.ok(untranslate(crlf(Buffer.concat([Buffer.from('\n'), original]))).equals(original));
        assert.ok(untranslate(Buffer.concat([Buffer.from('\n'), original])).equals(original));
      }),
      fuzzParameters(300),
    );
  });
});

describe('isEmulator', () => {
  it('knows emulators by serial or by the properties emulator images set', () => {
    assert.equal(isEmulator('emulator-5554'), true);
    assert.equal(isEmulator('127.0.0.1:5555', { 'ro.kernel.qemu': '1' }), true);
    assert.equal(isEmulator('R58M123', { 'ro.boot.qemu': '1' }), true);
    assert.equal(isEmulator('R58M123', { 'ro.hardware': 'ranchu' }), true);
    assert.equal(isEmulator('R58M123', { 'ro.hardware': 'qcom', 'ro.kernel.qemu': '0' }), false);
    assert.equal(isEmulator('emulator-x'), false);
  });
});
