import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConnectionGate } from '../../src/core/connection-gate.js';
import { MemoryLogger, testConfig } from '../helpers/fakes.js';

describe('ConnectionGate exchange buckets', () => {
  it('stay bounded by evicting the least recently used, not by forgetting every bucket (which refilled a flooder)', () => {
    const config = testConfig();
    config.limits.exchangesPerMinutePerSource = 1;
    const gate = new ConnectionGate(config, new MemoryLogger());
    assert.equal(gate.allowExchange('10.9.9.9'), true);
    assert.equal(gate.allowExchange('10.9.9.9'), false, 'its one exchange a minute is spent');
    // Many other sources, with the flooder still active among them.
    for (let i = 0; i < 10_010; i++) {
      gate.allowExchange(`10.1.${i >> 8}.${i & 255}`);
      if (i % 1000 === 0) assert.equal(gate.allowExchange('10.9.9.9'), false);
    }
    assert.equal(gate.allowExchange('10.9.9.9'), false, 'churning other sources does not refill its bucket');
  });
});
