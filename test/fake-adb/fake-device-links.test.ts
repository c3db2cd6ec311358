import assert from 'node:assert/strict';
import { lstat, readlink } from 'node:fs/promises';
import { after, before, beforeEach, describe, it } from 'node:test';
import { FakeAndroidDevice } from '../helpers/fake-adb/fake-android-device.js';

const APP = '/data/data/com.example.app';
const OTHER = '/data/data/com.example.other';

/**
 * Symbolic links and special files on the fake device, with the kernel's rules: `>` and `cat` follow a
 * link, `mv` and `rm` act on the link itself, permissions apply to the file reached, and a link's text
 * is a device path (never the host's).
 */
describe('fake Android device: symbolic links and special files', () => {
  let device: FakeAndroidDevice;
  before(async () => {
    device = new FakeAndroidDevice({
      rooted: true,
      packages: [
        { package: 'com.example.app', debuggable: true },
        { package: 'com.example.other', debuggable: true },
      ],
    });
    await device.start();
  });
  after(() => device.stop());
  beforeEach(async () => {
    device.clearLogs();
    for (const folder of [APP, OTHER]) {
      await device.fs.remove(`${folder}/files`, { recursive: true }).catch(() => undefined);
      await device.fs.mkdir(`${folder}/files`);
    }
    await device.fs.writeFile(`${OTHER}/files/secret`, 'other app data');
  });

  it('creates links with ln -s as the app, shows them in ls -l, readlink and stat', async () => {
    assert.equal(await device.runShell(`run-as com.example.app ln -s ${OTHER}/files/secret ${APP}/files/link`), '');
    const host = await device.fs.hostPath(`${APP}/files/link`, false);
    assert.ok((await lstat(host)).isSymbolicLink());
    assert.equal(await readlink(host), `${OTHER}/files/secret`, 'the link text is the device path');
    assert.match(await device.runShell(`run-as com.example.app ls -l ${APP}/files`), new RegExp(`^lrwxrwxrwx .* link -> ${OTHER}/files/secret\\n$`));
    assert.equal(await device.runShell(`run-as com.example.app readlink ${APP}/files/link`), `${OTHER}/files/secret\n`);
    assert.equal(await device.runShell(`su 0 stat -c '%F %u' ${APP}/files/link ${APP} ${OTHER}/files/secret /data/local/tmp`), 'symbolic link 10100\ndirectory 10100\nregular file 10101\ndirectory 2000\n');
    assert.equal(await device.runShell(`su 0 sh -c '[ -L ${APP}/files/link ] && echo link; [ -L ${APP}/files ] || echo folder'`), 'link\nfolder\n');
  });

  it('follows a link on > with the permissions of the writer: root overwrites the target, the app cannot', async () => {
    await device.runShell(`run-as com.example.app ln -s ${OTHER}/files/secret ${APP}/files/planted`);
    assert.equal(
      await device.runShell(`run-as com.example.app sh -c 'echo mine > ${APP}/files/planted'`),
      `sh: can't create ${APP}/files/planted: Permission denied\n`,
    );
    assert.equal((await device.fs.readFile(`${OTHER}/files/secret`)).toString(), 'other app data');
    assert.equal(await device.runShell(`su 10100 sh -c 'echo mine > ${APP}/files/planted'`), `sh: can't create ${APP}/files/planted: Permission denied\n`, 'su <app uid> is the app');
    assert.equal(await device.runShell(`su 0 sh -c 'echo root > ${APP}/files/planted && chmod 600 ${APP}/files/planted'`), '');
    assert.equal((await device.fs.readFile(`${OTHER}/files/secret`)).toString(), 'root\n', 'root followed the link');
    assert.equal((await device.fs.stat(`${OTHER}/files/secret`))!.mode, 0o600, 'chmod followed it too');
  });

  it('mv replaces a link at the target name and rm removes the link, never what it points to', async () => {
    await device.runShell(`run-as com.example.app ln -s ${OTHER}/files/secret ${APP}/files/device.crt`);
    assert.equal(await device.runShell(`su 0 sh -c 'echo cert > ${APP}/files/new && mv ${APP}/files/new ${APP}/files/device.crt'`), '');
    assert.equal((await device.fs.lstat(`${APP}/files/device.crt`))!.type, 'file');
    assert.equal((await device.fs.readFile(`${APP}/files/device.crt`)).toString(), 'cert\n');
    await device.runShell(`run-as com.example.app ln -s ${OTHER}/files/secret ${APP}/files/gone`);
    assert.equal(await device.runShell(`run-as com.example.app rm ${APP}/files/gone`), '');
    assert.equal((await device.fs.readFile(`${OTHER}/files/secret`)).toString(), 'other app data');
  });

  it('resolves a link in the middle of a path, relative links, and stops loops with ELOOP', async () => {
    await device.runShell(`run-as com.example.app ln -s ${OTHER}/files ${APP}/files/sonar`);
    assert.equal(await device.runShell(`su 0 cat ${APP}/files/sonar/secret`), 'other app data');
    assert.equal(await device.runShell(`run-as com.example.app cat ${APP}/files/sonar/secret`), `cat: ${APP}/files/sonar/secret: Permission denied\n`);
    await device.runShell(`run-as com.example.app sh -c 'echo rel > ${APP}/files/target && ln -s target ${APP}/files/rel && ln -s loop ${APP}/files/loop'`);
    assert.equal(await device.runShell(`run-as com.example.app cat ${APP}/files/rel`), 'rel\n');
    assert.equal(await device.runShell(`run-as com.example.app cat ${APP}/files/loop`), `cat: ${APP}/files/loop: Too many symbolic links encountered\n`);
    // A link to an absolute path means the device's path: /etc/passwd of the device (missing), never the host's.
    await device.runShell(`run-as com.example.app ln -s /etc/passwd ${APP}/files/passwd`);
    assert.equal(await device.runShell(`su 0 cat ${APP}/files/passwd`), `cat: ${APP}/files/passwd: No such file or directory\n`);
  });

  it('has /dev/null and an endless /dev/zero, which a command without a live reader stops reading', async () => {
    assert.equal(await device.runShell('echo gone > /dev/null && cat /dev/null'), '');
    await device.runShell(`run-as com.example.app ln -s /dev/zero ${APP}/files/app.csr`);
    assert.equal(await device.runShell(`run-as com.example.app stat -L -c %F ${APP}/files/app.csr`), 'character special file\n');
    const before = device.fs.endlessBytesRead;
    const output = await device.runShell(`run-as com.example.app cat ${APP}/files/app.csr`);
    assert.ok(output.endsWith(`cat: ${APP}/files/app.csr: File too large\n`), 'a buffered reader gets at most about 1 MiB');
    assert.ok(device.fs.endlessBytesRead - before <= 2 * 1024 * 1024);
  });
});
