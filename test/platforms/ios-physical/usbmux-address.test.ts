import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { htons } from '../../../src/platforms/ios-physical/usbmux-client.js';
import { usbmuxAddress } from '../../../src/platforms/ios-physical/usbmux-address.js';
import { testConfig } from '../../helpers/fakes.js';

describe('the usbmuxd address', () => {
  const withOption = (usbmuxdSocket?: unknown) => testConfig({ pluginOptions: usbmuxdSocket === undefined ? {} : { 'ios-physical': { usbmuxdSocket } } });

  it('comes from the config, else USBMUXD_SOCKET_ADDRESS, else /var/run/usbmuxd', () => {
    assert.deepEqual(usbmuxAddress(withOption('unix:/tmp/mux'), { USBMUXD_SOCKET_ADDRESS: '127.0.0.1:27015' }), { path: '/tmp/mux' });
    assert.deepEqual(usbmuxAddress(withOption(), { USBMUXD_SOCKET_ADDRESS: 'unix:/run/usbmuxd' }), { path: '/run/usbmuxd' });
    assert.deepEqual(usbmuxAddress(withOption(), { USBMUXD_SOCKET_ADDRESS: '192.168.1.5:27015' }), { host: '192.168.1.5', port: 27015 });
    assert.deepEqual(usbmuxAddress(withOption(), { USBMUXD_SOCKET_ADDRESS: '[::1]:27015' }), { host: '::1', port: 27015 });
    if (process.platform !== 'win32') assert.deepEqual(usbmuxAddress(withOption(), {}), { path: '/var/run/usbmuxd' });
  });

  it('refuses a malformed address with the expected shape', () => {
    for (const bad of ['unix:', 'localhost', 'host:0', 'host:99999', ':27015']) {
      assert.throws(() => usbmuxAddress(withOption(), { USBMUXD_SOCKET_ADDRESS: bad }), { kind: 'config-invalid', message: /USBMUXD_SOCKET_ADDRESS must be "unix:\/path\/to\/socket" or "host:port"/ });
    }
    assert.throws(() => usbmuxAddress(withOption(42), {}), { kind: 'config-invalid', message: /pluginOptions\["ios-physical"\]\.usbmuxdSocket/ });
  });

  it('puts Connect ports in network byte order', () => {
    assert.equal(htons(62078), 0x7ef2);
    assert.equal(htons(8079), 0x8f1f);
  });
});
