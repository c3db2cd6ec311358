import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HostError } from '../../../src/core/host-error.js';
import { checkAppFolder, classifyOutput, readCsrCommand, writeFilesCommand } from '../../../src/platforms/android/android-shell.js';

const PEM = '-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIU\nAbC+/=\n-----END CERTIFICATE-----\n';
const DEST = '/data/user/0/com.example.app/files/sonar/';

describe('android shell commands', () => {
  it('reads app.csr through run-as or su', () => {
    assert.equal(readCsrCommand('run-as', 'com.example.app', DEST), `run-as com.example.app cat ${DEST}app.csr`);
    assert.equal(readCsrCommand('su', 'com.example.app', DEST), `su 0 cat ${DEST}app.csr`);
  });

  it('writes both files in one command, sonarCA.crt first, each through a temporary name', () => {
    const command = writeFilesCommand('run-as', 'com.example.app', DEST, [
      { name: 'sonarCA.crt', contents: PEM },
      { name: 'device.crt', contents: PEM },
    ]);
    assert.ok(command.startsWith('run-as com.example.app sh -c "echo \'-----BEGIN CERTIFICATE-----'));
    assert.ok(command.indexOf('sonarCA.crt.tmp') < command.indexOf('device.crt.tmp'));
    assert.match(command, /mv \/data\/user\/0\/com\.example\.app\/files\/sonar\/device\.crt\.tmp \/data\/user\/0\/com\.example\.app\/files\/sonar\/device\.crt"$/);
  });

  const hostileAppIds = ["com.app'", 'com.app;reboot', 'com.app$(id)', 'com.app`id`', 'com.app\nid', 'com app', ''];
  for (const appId of hostileAppIds) {
    it(`refuses the app id ${JSON.stringify(appId)} before building any command`, () => {
      assert.throws(() => readCsrCommand('run-as', appId, DEST), (e: unknown) => HostError.is(e, 'destination-refused'));
    });
  }

  const hostileDestinations = [
    "/data/user/0/com.example.app/files/sonar'/",
    '/data/user/0/com.example.app/files/sonar;rm -rf /;/',
    '/data/user/0/com.example.app/$(reboot)/',
    '/data/user/0/com.example.app/`reboot`/',
    '/data/user/0/com.example.app/files\n/sonar/',
    '/data/user/0/com.example.app/../com.other/files/sonar/',
    'relative/path/',
    '/data/user/0/com.example.app/files/sonar',
    '/data/user/0/com.example.app/files/with space/',
  ];
  for (const destination of hostileDestinations) {
    it(`refuses the destination ${JSON.stringify(destination)}`, () => {
      assert.throws(() => readCsrCommand('run-as', 'com.example.app', destination), (e: unknown) => HostError.is(e, 'destination-refused'));
      assert.throws(() => writeFilesCommand('su', 'com.example.app', destination, [{ name: 'device.crt', contents: PEM }]), (e: unknown) => HostError.is(e, 'destination-refused'));
    });
  }

  it('refuses certificate contents that are not a plain PEM block', () => {
    assert.throws(() => writeFilesCommand('run-as', 'com.example.app', DEST, [{ name: 'device.crt', contents: `${PEM}"; reboot; echo "` }]), /not a plain PEM block/);
  });

  it('accepts only folders inside the app\'s own private data', () => {
    for (const ok of ['/data/data/com.example.app/files/sonar/', DEST, '/data/user/10/com.example.app/files/sonar/', '/mnt/expand/4a5b-99/user/0/com.example.app/files/sonar/']) {
      assert.doesNotThrow(() => checkAppFolder('com.example.app', ok), ok);
    }
    for (const bad of ['/data/local/tmp/sonar/', '/sdcard/sonar/', '/data/data/com.example.other/files/sonar/', '/data/data/com.example.apps/files/', '/data/data/comXexample.app/files/']) {
      assert.throws(() => checkAppFolder('com.example.app', bad), /not inside the private data folder of com\.example\.app/, bad);
    }
  });

  it('classifies the device answers', () => {
    assert.equal(classifyOutput('run-as: package not debuggable: com.x\n'), 'not-debuggable');
    assert.equal(classifyOutput('run-as: unknown package: com.x'), 'not-application');
    assert.equal(classifyOutput('run-as: Package com.x is not an application'), 'not-application');
    assert.equal(classifyOutput('run-as: Could not set capabilities: Operation not permitted'), 'not-permitted');
    assert.equal(classifyOutput('/system/bin/sh: su: not found'), 'no-su');
    assert.equal(classifyOutput('cat: /data/x/app.csr: No such file or directory'), 'missing');
    assert.equal(classifyOutput('-----BEGIN CERTIFICATE REQUEST-----'), undefined);
  });
});
