import assert from 'node:assert/strict';
import { setTimeout as delay } from 'node:timers/promises';
import { describe, it } from 'node:test';
import { CertificateExchangeMedium, type ClientQuery } from '../../src/core/client-query.js';
import { ConnectionDiagnostics } from '../../src/core/connection-diagnostics.js';
import { MemoryLogger } from '../helpers/fakes.js';

const query: ClientQuery = { os: 'Android', device: 'Pixel', app: 'Demo', deviceId: 'unknown', sdkVersion: 4, medium: CertificateExchangeMedium.FS_ACCESS };

describe('ConnectionDiagnostics', () => {
  it('warns once when an app connects 4 times within 20 s, naming what to check', () => {
    const logger = new MemoryLogger();
    const diagnostics = new ConnectionDiagnostics(logger);
    for (let i = 0; i < 3; i++) diagnostics.connectionAttempt(query);
    assert.deepEqual(logger.messages('warn'), []);
    diagnostics.connectionAttempt(query);
    diagnostics.connectionAttempt(query);
    const warnings = logger.messages('warn');
    assert.equal(warnings.length, 1);
    assert.match(warnings[0]!, /Connection loop detected: Demo on Pixel connected 4 times within 20 s\. Check the app log/);
    diagnostics.dispose();
  });

  it('warns when an exchange is not followed by a secure connection in time', async () => {
    const logger = new MemoryLogger();
    const diagnostics = new ConnectionDiagnostics(logger);
    diagnostics.unresponsiveMs = 30;
    diagnostics.exchangeCompleted(query);
    await delay(80);
    assert.match(logger.messages('warn')[0] ?? '', /Timed out establishing connection with "Demo" on "Pixel".*adb reverse/);
    diagnostics.dispose();
  });

  it('stays quiet when the secure connection follows (device_id may differ)', async () => {
    const logger = new MemoryLogger();
    const diagnostics = new ConnectionDiagnostics(logger);
    diagnostics.unresponsiveMs = 30;
    diagnostics.exchangeCompleted(query);
    diagnostics.secureAttempt({ ...query, deviceId: 'emulator-5554' });
    await delay(80);
    assert.deepEqual(logger.messages('warn'), []);
    diagnostics.dispose();
  });
});
