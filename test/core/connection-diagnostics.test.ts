import assert from 'node:assert/strict';
import { setTimeout as delay } from 'node:timers/promises';
import { describe, it } from 'node:test';
import { CertificateExchangeMedium, type ClientQuery } from '../../src/core/client-query.js';
import { ConnectionDiagnostics } from '../../src/core/connection-diagnostics.js';
import { MemoryLogger } from '../helpers/fakes.js';

const query: ClientQuery = { os: 'Android', device: 'Pixel', app: 'Demo', deviceId: 'unknown', sdkVersion: 4, medium: CertificateExchangeMedium.FS_ACCESS };

describe('ConnectionDiagnostics', () => {
  it('warns once when an app connects 4 times within 20 s without reaching a working session, naming what to check', async () => {
    const logger = new MemoryLogger();
    const diagnostics = new ConnectionDiagnostics(logger);
    diagnostics.loopSettleMs = 30;
    for (let i = 0; i < 3; i++) diagnostics.connectionAttempt(query);
    await delay(80);
    assert.deepEqual(logger.messages('warn'), []);
    diagnostics.connectionAttempt(query);
    diagnostics.connectionAttempt(query);
    await delay(80);
    diagnostics.connectionAttempt(query);
    await delay(80);
    const warnings = logger.messages('warn');
    assert.equal(warnings.length, 1);
    assert.match(warnings[0]!, /Connection loop detected: Demo on Pixel connected 5 times within 20 s without reaching a working session\. Check the app log/);
    diagnostics.dispose();
  });

  it('does not count restarts that each reached a working session (exchange + secure, three times)', async () => {
    const logger = new MemoryLogger();
    const diagnostics = new ConnectionDiagnostics(logger);
    diagnostics.loopSettleMs = 30;
    for (let run = 0; run < 3; run++) {
      diagnostics.connectionAttempt(query); // exchange
      diagnostics.connectionAttempt({ ...query, deviceId: '' }); // secure
      diagnostics.sessionEstablished({ ...query, deviceId: '' });
    }
    await delay(80);
    assert.deepEqual(logger.messages('warn'), []);
    diagnostics.dispose();
  });

  it('gives the 4th attempt time to succeed: one recovery (two refusals, an exchange, success) is not a loop', async () => {
    const logger = new MemoryLogger();
    const diagnostics = new ConnectionDiagnostics(logger);
    diagnostics.loopSettleMs = 50;
    for (let i = 0; i < 4; i++) diagnostics.connectionAttempt(query);
    diagnostics.sessionEstablished(query);
    await delay(120);
    assert.deepEqual(logger.messages('warn'), []);
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
