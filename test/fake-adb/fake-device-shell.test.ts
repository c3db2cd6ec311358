import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import { FakeAndroidDevice } from '../helpers/fake-adb/fake-android-device.js';
import { shellQuote } from '../helpers/fake-adb/shell-parser.js';

/** The host's /bin/sh, for checking that the fake splits words exactly as a real sh does. */
function hostSh(script: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('/bin/sh', ['-c', script], { env: { PATH: '/usr/bin:/bin' }, timeout: 5000 }, (error, stdout, stderr) => {
      if (error !== null && stdout === '' && stderr === '') reject(error);
      else resolve(stdout + stderr);
    });
  });
}

/** The fake device's shell without adb: grammar, quoting, sandbox, run-as and su. */
describe('fake Android device shell', () => {
  let device: FakeAndroidDevice;
  before(async () => {
    device = new FakeAndroidDevice({
      packages: [
        { package: 'com.example.app', debuggable: true },
        { package: 'com.example.other', debuggable: true },
        { package: 'com.example.release', debuggable: false },
        { package: 'com.example.lib', debuggable: true, isApplication: false },
      ],
    });
    await device.start();
  });
  after(() => device.stop());
  beforeEach(() => {
    device.rooted = false;
    device.runAsCapabilityBug = false;
    device.clearLogs();
  });

  // Every case is a constant written here: safe to give to the host's sh as well.
  const QUOTING_CASES = [
    `printf '[%s]\\n' a 'b c' "d e" f\\ g 'it'\\''s' "x\\"y" "\\$HOME" 'a;b' "a&&b" a\\\\b '' ""`,
    `printf '[%s]\\n' 'line1\nline2' "tab\there" 'back\\slash' "dq\\\\bs" "\\q"`,
    `X='1  2'; printf '[%s]\\n' $X "$X" "$X"$X`,
    `printf '[%s]\\n' "$EMPTY" $EMPTY x$EMPTY`,
    `echo a; echo b && echo c || echo d`,
    `false && echo no; echo yes; false || echo alt`,
    `echo one # a comment ; echo not-run`,
    `echo "semi;colon" 'pipe|bar' "and&&and" 'redir>out'`,
    `printf '%s-%s\\n' a b c d`,
    `echo -n no-newline; echo`,
    `echo "a\\
b" c\\
d`,
  ];
  for (const script of QUOTING_CASES) {
    it(`splits words as /bin/sh does: ${JSON.stringify(script)}`, async () => {
      assert.equal(await device.runShell(script), await hostSh(script));
    });
  }

  it('round-trips any string through shellQuote', async () => {
    const hostile = `it's "$(id)" \`id\` $HOME; rm -rf / && echo \\ \n end`;
    assert.equal(await device.runShell(`printf '%s' ${shellQuote(hostile)}`), hostile);
    assert.equal(device.substitutions.length, 0);
  });

  it('never runs command substitutions, and records them', async () => {
    const output = await device.runShell('echo "$(id)"; echo `whoami`; echo safe');
    assert.match(output, /\$\(id\): command substitution is disabled on the fake device/);
    assert.match(output, /`whoami`: command substitution is disabled/);
    assert.match(output, /^safe$/m);
    assert.deepEqual(device.substitutions.map((s) => s.source), ['$(id)', '`whoami`']);
    assert.deepEqual(device.executed.map((e) => e.argv[0]), ['echo']);
  });

  it('treats substitutions in single quotes as text', async () => {
    assert.equal(await device.runShell(`echo '$(id)' '\`id\`'`), '$(id) `id`\n');
    assert.equal(device.substitutions.length, 0);
  });

  it('makes an injection observable: a second command after ; is parsed and run', async () => {
    await device.runShell('echo x; touch /data/local/tmp/pwned');
    assert.deepEqual(device.executed.map((e) => e.argv), [['echo', 'x'], ['touch', '/data/local/tmp/pwned']]);
    assert.ok(await device.fs.stat('/data/local/tmp/pwned'));
  });

  it('reports syntax errors like mksh and runs nothing', async () => {
    assert.equal(await device.runShell(`echo 'unterminated`), '/system/bin/sh: syntax error: unterminated quoted string\n');
    assert.match(await device.runShell('(echo sub)'), /syntax error: '\(' unexpected/);
    assert.match(await device.runShell('if true; then echo x; fi'), /syntax error: 'if' is not supported/);
    assert.equal(device.executed.length, 0);
  });

  it('answers getprop like Android', async () => {
    assert.equal(await device.runShell('getprop ro.product.model'), 'Fake Pixel\n');
    assert.equal(await device.runShell('getprop no.such.prop'), '\n');
    assert.equal(await device.runShell('getprop no.such.prop fallback'), 'fallback\n');
    const all = await device.runShell('getprop');
    assert.match(all, /^\[ro\.build\.version\.sdk\]: \[30\]$/m);
    assert.match(all, /^\[ro\.product\.cpu\.abilist\]: \[x86_64,x86,arm64-v8a\]$/m);
  });

  it('handles files in /data/local/tmp as the shell user', async () => {
    const out = await device.runShell([
      'cd /data/local/tmp',
      'mkdir -p a/b/c && echo first > a/b/c/f.txt && echo second >> a/b/c/f.txt',
      'cat a/b/c/f.txt',
      'chmod 600 a/b/c/f.txt',
      'mv a/b/c/f.txt a/g.txt; ls a',
      'cat a/b/c/f.txt',
      'rm -f a/g.txt a/missing; rm a/missing',
      'ls a/b',
      'echo piped | cat | cat',
      'cat missing 2>/dev/null; echo after',
      'cat missing 2>&1 > /dev/null',
    ].join('\n'));
    assert.equal(out, [
      'first', 'second',
      'b', 'g.txt',
      'cat: a/b/c/f.txt: No such file or directory',
      'rm: a/missing: No such file or directory',
      'c',
      'piped',
      'after',
      'cat: missing: No such file or directory',
      '',
    ].join('\n'));
    assert.equal((await device.fs.stat('/data/local/tmp/a'))?.type, 'dir');
  });

  it('refuses writes and reads outside the shell user\'s places', async () => {
    assert.equal(await device.runShell('echo x > /data/data/com.example.app/x'), '/system/bin/sh: can\'t create /data/data/com.example.app/x: Permission denied\n');
    await device.fs.writeFile('/data/data/com.example.app/secret', 's3cret');
    assert.equal(await device.runShell('cat /data/data/com.example.app/secret'), 'cat: /data/data/com.example.app/secret: Permission denied\n');
    assert.equal(await device.runShell('ls /data/data'), 'ls: /data/data: Permission denied\n');
    assert.equal(await device.runShell('mkdir /system/x'), "mkdir: '/system/x': Permission denied\n");
  });

  it('runs run-as with the app\'s folder as cwd, through its alias too', async () => {
    assert.equal(await device.runShell('run-as com.example.app pwd'), '/data/user/0/com.example.app\n');
    assert.match(await device.runShell('run-as com.example.app id'), /^uid=10100\(u0_a100\) gid=10100\(u0_a100\)/);
    await device.runShell(`run-as com.example.app sh -c 'mkdir -p files/sonar && echo "hello app" > files/sonar/app.csr'`);
    assert.equal(await device.runShell('run-as com.example.app cat /data/data/com.example.app/files/sonar/app.csr'), 'hello app\n');
    assert.equal(await device.runShell('run-as com.example.app cat /data/user/0/com.example.app/files/sonar/app.csr'), 'hello app\n');
    assert.equal((await device.fs.readFile('/data/data/com.example.app/files/sonar/app.csr')).toString(), 'hello app\n');
    assert.equal(await device.runShell('run-as com.example.app cat files/nothing'), 'cat: files/nothing: No such file or directory\n');
  });

  it('drives run-as the way Flipper\'s desktop does (commands on stdin)', async () => {
    const commands = `echo "-----BEGIN CERTIFICATE-----" > files/sonarCA.crt && chmod 644 files/sonarCA.crt`;
    assert.equal(await device.runShell(`echo '${commands}' | run-as 'com.example.app'`), '');
    assert.equal(await device.runShell(`echo 'cat files/sonarCA.crt' | run-as com.example.app`), '-----BEGIN CERTIFICATE-----\n');
    assert.equal((await device.fs.stat('/data/data/com.example.app/files/sonarCA.crt'))?.mode, 0o644);
  });

  it('confines run-as to the app\'s private folder', async () => {
    await device.fs.writeFile('/data/data/com.example.other/secret', 'other');
    assert.equal(await device.runShell('run-as com.example.app cat ../com.example.other/secret'), 'cat: ../com.example.other/secret: Permission denied\n');
    assert.equal(await device.runShell('run-as com.example.app cat /data/data/com.example.other/secret'), 'cat: /data/data/com.example.other/secret: Permission denied\n');
    assert.equal(
      await device.runShell(`run-as com.example.app sh -c 'echo x > /data/local/tmp/from-app'`),
      "sh: can't create /data/local/tmp/from-app: Permission denied\n",
    );
    assert.equal(await device.runShell('run-as com.example.app touch /sdcard/x'), 'touch: /sdcard/x: Permission denied\n');
    // `..` never leaves the device's root: /../../etc/passwd is the device's (missing) /etc/passwd.
    device.rooted = true;
    assert.equal(await device.runShell('su 0 cat /../../../../etc/passwd'), 'cat: /../../../../etc/passwd: No such file or directory\n');
  });

  it('refuses a symlink planted in the device folder that points outside it', async () => {
    const outside = await mkdtemp(join(tmpdir(), 'fake-adb-outside-'));
    try {
      await writeFile(join(outside, 'host-secret'), 'host');
      await symlink(outside, join(device.fs.root, 'data/local/tmp/escape'));
      assert.equal(await device.runShell('cat /data/local/tmp/escape/host-secret'), 'cat: /data/local/tmp/escape/host-secret: Permission denied\n');
      assert.equal(await device.runShell('echo x > /data/local/tmp/escape/new'), "/system/bin/sh: can't create /data/local/tmp/escape/new: Permission denied\n");
    } finally {
      await rm(join(device.fs.root, 'data/local/tmp/escape'), { force: true });
      await rm(outside, { recursive: true, force: true });
    }
  });

  it('gives run-as\'s messages for unknown, release and non-application packages', async () => {
    assert.equal(await device.runShell('run-as com.nope ls'), 'run-as: unknown package: com.nope\n');
    assert.equal(await device.runShell('run-as com.example.release ls'), 'run-as: package not debuggable: com.example.release\n');
    assert.equal(await device.runShell('run-as com.example.lib ls'), 'run-as: package not an application: com.example.lib\n');
    assert.equal(await device.runShell('run-as com.example.app nosuchcmd'), 'run-as: exec failed for nosuchcmd: No such file or directory\n');
    device.runAsCapabilityBug = true;
    assert.equal(await device.runShell('run-as com.example.app ls'), 'run-as: Could not set capabilities: Operation not permitted\n');
  });

  it('passes run-as arguments as argv, without a second parse', async () => {
    assert.equal(await device.runShell(`run-as com.example.app echo 'a; touch files/x' '$(id)'`), 'a; touch files/x $(id)\n');
    assert.deepEqual(device.executed.map((e) => e.argv), [
      ['run-as', 'com.example.app', 'echo', 'a; touch files/x', '$(id)'],
      ['echo', 'a; touch files/x', '$(id)'],
    ]);
    assert.equal(device.executed[1]!.user, 'u0_a100');
  });

  it('has no su unless rooted', async () => {
    assert.equal(await device.runShell('su 0 id'), '/system/bin/sh: su: not found\n');
    assert.equal(await device.runShell('su -c id'), '/system/bin/sh: su: not found\n');
    device.rooted = true;
    assert.match(await device.runShell('su 0 id'), /^uid=0\(root\)/);
    assert.match(await device.runShell(`su -c 'id; whoami'`), /^uid=0\(root\).*\nroot\n$/);
    assert.equal(await device.runShell(`echo 'whoami' | su`), 'root\n');
    await device.fs.writeFile('/data/data/com.example.release/files.txt', 'release data');
    assert.equal(await device.runShell('su 0 cat /data/user/0/com.example.release/files.txt'), 'release data');
    assert.equal(await device.runShell(`su 0 sh -c 'echo root > /data/data/com.example.release/r && cat /data/data/com.example.release/r'`), 'root\n');
  });
});
