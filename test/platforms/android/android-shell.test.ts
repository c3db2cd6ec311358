import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HostError } from '../../../src/core/host-error.js';
import { checkAppFolder, checkAppId, classifyOutput, isAppUid, parseProbe, probeCommand, writeFilesCommand } from '../../../src/platforms/android/android-shell.js';

const PEM = '-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIU\nAbC+/=\n-----END CERTIFICATE-----\n';
const DEST = '/data/user/0/com.example.app/files/sonar/';

describe('android shell commands', () => {
  const MARKER = 'sonarhost-probe-0011223344556677';

  it('probes in one command: run-as reads app.csr, su runs only when run-as fails, after an unguessable marker, and prints the owner uid first', () => {
    const command = probeCommand('com.example.app', DEST, MARKER);
    assert.equal(
      command,
      'run-as com.example.app sh -c "[ -L /data/user/0/com.example.app/files ] && echo sonarhost-refused: /data/user/0/com.example.app/files is a symbolic link && exit 0; ' +
        `[ -L ${DEST.slice(0, -1)} ] && echo sonarhost-refused: ${DEST.slice(0, -1)} is a symbolic link && exit 0; ` +
        `[ -L ${DEST}app.csr ] && echo sonarhost-refused: ${DEST}app.csr is a symbolic link && exit 0; cat ${DEST}app.csr || true" || ` +
        `sh -c 'echo ${MARKER} && su 0 sh -c "[ -L /data/user/0/com.example.app/files ] && echo sonarhost-refused: /data/user/0/com.example.app/files is a symbolic link && exit 0; ` +
        `[ -L ${DEST.slice(0, -1)} ] && echo sonarhost-refused: ${DEST.slice(0, -1)} is a symbolic link && exit 0; ` +
        `[ -L ${DEST}app.csr ] && echo sonarhost-refused: ${DEST}app.csr is a symbolic link && exit 0; stat -c %u /data/user/0/com.example.app && cat ${DEST}app.csr"'`,
    );
    assert.deepEqual(parseProbe('CSR\n', MARKER), { runAs: 'CSR\n' });
    assert.deepEqual(parseProbe(`run-as: package not debuggable: x\n${MARKER}\n10123\nCSR\n`, MARKER), { runAs: 'run-as: package not debuggable: x\n', su: { uid: 10123, rest: 'CSR\n' } });
    assert.deepEqual(parseProbe(`no\n${MARKER}\nsh: su: not found\n`, MARKER), { runAs: 'no\n', su: { rest: 'sh: su: not found\n' } });
    assert.throws(() => probeCommand('com.example.app', DEST, "x' ; reboot"), /probe marker/);
  });

  it('writes both files in one command as the app (run-as, or su with the app uid, never root), sonarCA.crt first, through random temporary names', () => {
    const files = [{ name: 'sonarCA.crt', contents: PEM }, { name: 'device.crt', contents: PEM }];
    const command = writeFilesCommand({ kind: 'run-as' }, 'com.example.app', DEST, files, '0123456789abcdef');
    assert.ok(command.startsWith('run-as com.example.app sh -c "[ -L /data/user/0/com.example.app/files ] && echo sonarhost-refused:'));
    assert.ok(command.includes(`echo '-----BEGIN CERTIFICATE-----`));
    assert.ok(command.indexOf('.sonarCA.crt.0123456789abcdef.tmp') < command.indexOf('.device.crt.0123456789abcdef.tmp'));
    assert.match(command, /mv \/data\/user\/0\/com\.example\.app\/files\/sonar\/\.device\.crt\.0123456789abcdef\.tmp \/data\/user\/0\/com\.example\.app\/files\/sonar\/device\.crt \|\| rm -f \S+"$/);
    assert.ok(writeFilesCommand({ kind: 'su', uid: 10123 }, 'com.example.app', DEST, files).startsWith('su 10123 sh -c "'));
    const names = new Set([1, 2, 3].map(() => /\.device\.crt\.([0-9a-f]+)\.tmp/.exec(writeFilesCommand({ kind: 'run-as' }, 'com.example.app', DEST, files))![1]));
    assert.equal(names.size, 3, 'a new temporary name every time');
    for (const uid of [0, 1000, 2000, 9999, 20000, -1, 1.5]) {
      assert.throws(() => writeFilesCommand({ kind: 'su', uid }, 'com.example.app', DEST, files), /not an app uid/, String(uid));
    }
    assert.ok(isAppUid(1010123), 'an app of user 10');
  });

  const hostileAppIds = ["com.app'", 'com.app;reboot', 'com.app$(id)', 'com.app`id`', 'com.app\nid', 'com app', ''];
  for (const appId of hostileAppIds) {
    it(`refuses the app id ${JSON.stringify(appId)} before building any command`, () => {
      // The app id check itself: the destination check behind it would refuse these too, and hide its loss.
      assert.throws(() => checkAppId(appId), /only letters, digits, '_', '\.' and '-' may reach the device shell/);
      assert.throws(() => probeCommand(appId, DEST, MARKER), (e: unknown) => HostError.is(e, 'destination-refused'));
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
      assert.throws(() => probeCommand('com.example.app', destination, MARKER), (e: unknown) => HostError.is(e, 'destination-refused'));
      assert.throws(() => writeFilesCommand({ kind: 'su', uid: 10123 }, 'com.example.app', destination, [{ name: 'device.crt', contents: PEM }]), (e: unknown) => HostError.is(e, 'destination-refused'));
    });
  }

  it('refuses certificate contents that are not a plain PEM block', () => {
    assert.throws(() => writeFilesCommand({ kind: 'run-as' }, 'com.example.app', DEST, [{ name: 'device.crt', contents: `${PEM}"; reboot; echo "` }]), /not a plain PEM block/);
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
    assert.equal(classifyOutput('sonarhost-refused: /data/data/x/files/sonar is a symbolic link'), 'link');
    assert.equal(classifyOutput('-----BEGIN CERTIFICATE REQUEST-----'), undefined);
  });
});
