import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { lstat, mkdir, readFile, readdir, readlink, realpath, rm, symlink, writeFile } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { CertificateExchangeMedium } from '../../src/core/client-query.js';
import { type ExchangeRequest } from '../../src/core/device-transport.js';
import { HostError } from '../../src/core/host-error.js';
import { type ParsedCsr, createCsr, normalizeCsr, parseCsr } from '../../src/core/x509/csr.js';
import { generateRsaKeyPair } from '../../src/core/x509/webcrypto.js';
import { type Runner, checkAppFolder, probeCommand, writeFilesCommand } from '../../src/platforms/android/android-shell.js';
import { DesktopDeviceTransport } from '../../src/platforms/desktop/desktop-device-transport.js';
import { CrashWatch, checkProperty, fuzzParameters } from '../helpers/fuzz-harness.js';
import { chaosString } from '../helpers/fuzz-json.js';
import { testConfig } from '../helpers/fakes.js';
import { makeTempDir } from '../helpers/temp-dir.js';

/** Characters that mean something to a shell, or end a word, anywhere outside a quoted PEM body. */
const SHELL_SPECIAL = /['"$`;|<>(){}[\]*?~#!\\\s]/;

/** What the brief demands of anything that reaches `adb shell` as an app id or a path. */
function assertShellSafeWord(word: string, what: string): void {
  assert.ok(word.length > 0, `${what} is empty`);
  assert.doesNotMatch(word, SHELL_SPECIAL, `${what} ${JSON.stringify(word)} holds a shell-special character`);
  assert.ok(!word.includes('&'), `${what} ${JSON.stringify(word)} holds '&'`);
}

function assertSafePath(path: string, what: string): void {
  assertShellSafeWord(path, what);
  assert.match(path, /^\/[A-Za-z0-9._/-]*$/, `${what} ${JSON.stringify(path)} is not an absolute path of [A-Za-z0-9._/-]`);
  assert.ok(!path.split('/').includes('..'), `${what} ${JSON.stringify(path)} has a '..' segment`);
}

/** Throws a HostError (destination-refused, or internal for certificates that are not plain PEM) or returns. */
function refusedOr<T>(build: () => T): T | undefined {
  try {
    return build();
  } catch (error) {
    assert.ok(HostError.is(error), `threw something else than a HostError: ${String(error)}`);
    assert.ok(['destination-refused', 'internal'].includes(error.kind), `a HostError of kind ${error.kind}`);
    return undefined;
  }
}

const trickyAppIds = ['.', '..', '...', '-', '--user', '-rf', 'a b', "a'b", 'a"b', '$(id)', '`id`', 'a;b', 'a|b', 'a&&b', 'a\nb', 'a\u0000b', 'é', 'com.example.app', 'com.example.app/..', '*', '~root'];
const appIdArb = fc.oneof(fc.constantFrom(...trickyAppIds), fc.stringMatching(/^[\w.-]{1,24}$/), chaosString);

const segment = fc.oneof(
  fc.constantFrom('sonar', 'files', '.', '..', '', 'a b', "x'y", '$HOME', '`id`', ';', '|', '&&', '&', '\n', '..%2f', '%2e%2e', 'é', '~', '*', '-', '\\', 'sonar\u0000'),
  fc.stringMatching(/^[A-Za-z0-9._-]{1,10}$/),
);
const privateRoot = fc.oneof(
  fc.constant('/data/data/'),
  fc.stringMatching(/^\d{1,3}$/).map((n) => `/data/user/${n}/`),
  fc.tuple(fc.stringMatching(/^[0-9a-fA-F-]{1,12}$/), fc.stringMatching(/^\d{1,2}$/)).map(([uuid, n]) => `/mnt/expand/${uuid}/user/${n}/`),
  fc.constantFrom('/sdcard/', '/data/local/tmp/', '/', '', 'data/data/'),
);

/** Destinations shaped like an Android app's folder, with hostile segments, or anything at all. */
function destinationFor(appId: fc.Arbitrary<string>): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 4, arbitrary: fc.tuple(privateRoot, appId, fc.array(segment, { maxLength: 4 }), fc.boolean()).map(([root, id, rest, slash]) => `${root}${[id, ...rest].join('/')}${slash ? '/' : ''}`) },
    { weight: 1, arbitrary: chaosString },
  );
}

const pemBody = fc.oneof(
  fc.constant('MIIBszCCAVmgAwIBAgIU\nAbC+/='),
  fc.base64String({ minLength: 4, maxLength: 120 }).map((s) => s.replace(/(.{64})/g, '$1\n').replace(/\n$/, '') || 'AAAA'),
  fc.constantFrom("AAAA'\n$(reboot)", 'AAAA"; reboot; "', 'AAAA`id`', 'AAAA\n-----END CERTIFICATE-----\n; reboot', 'AA AA', ''),
);
const certificate = fc.tuple(fc.constantFrom('CERTIFICATE', 'CERTIFICATE REQUEST', "CERT'IFICATE", 'X509 CRL'), pemBody, fc.boolean()).map(
  ([label, body, newline]) => `-----BEGIN ${label}-----\n${body}\n-----END ${label}-----${newline ? '\n' : ''}`,
);

/** `echo '<PEM>' > …`: the single-quoted bodies may hold only PEM characters; everything else is checked word by word. */
const QUOTED_PEM = /'-----BEGIN [A-Z ]+-----\n[A-Za-z0-9+/=\n]+\n-----END [A-Z ]+-----'/g;

/**
 * Fuzzes what an app controls on its way to a device shell (the Android command builders, asserting on
 * the command produced, independently of the builders' own checks) and to the local disk (the desktop
 * transport's locate() and deploy() on a temporary tree with symlinks, loops and a planted symlink,
 * comparing the whole tree before and after).
 */
describe('fuzz: destinations and app ids on their way to a device shell or a local folder', () => {
  const watch = new CrashWatch();
  before(() => void watch.install());
  after(() => {
    try {
      watch.assertClean('destinations');
    } finally {
      watch.dispose();
    }
  });

  /** Every word of a built command outside the quoted PEM bodies: the builders' own words, the app id, or a safe path. */
  const OWN_WORDS = new Set(['run-as', 'sh', '-c', 'cat', '||', 'true', '&&', 'echo', 'su', '0', '10100', 'stat', '%u', '[', '-L', ']', 'exit', '3', 'is', 'a', 'symbolic', 'link', 'sonarhost-refused:', 'PEM', '>', 'chmod', '644', 'mv', 'rm', '-f']);
  const assertWords = (command: string, appId: string, destination: string, extra: readonly string[]) => {
    for (const raw of command.split(' ')) {
      const word = raw.replace(/^["']+|["';]+$/g, '');
      if (word === '' || OWN_WORDS.has(word) || extra.includes(word)) continue;
      if (word === appId) {
        assertShellSafeWord(appId, 'the app id');
        continue;
      }
      assertSafePath(word, `the path ${JSON.stringify(word)} in ${JSON.stringify(command.slice(0, 120))}`);
      assert.ok(word.startsWith(checkAppFolder(appId, destination)), `${word} is outside the app's folder`);
    }
  };

  it('probeCommand refuses or builds a command whose app id and paths are shell-safe words', async () => {
    const marker = 'sonarhost-probe-0123456789abcdef';
    await checkProperty(
      fc.asyncProperty(appIdArb, destinationFor(appIdArb), async (appId, destination) => {
        const command = refusedOr(() => probeCommand(appId, destination, marker));
        if (command === undefined) return;
        assert.ok(command.startsWith(`run-as ${appId} sh -c "`), command.slice(0, 80));
        assert.equal(command.split('"').length - 1, 4, 'two double-quoted scripts');
        assert.equal(command.split("'").length - 1, 2, 'one single-quoted script');
        assert.ok(command.includes(`cat ${destination}app.csr`));
        assertWords(command, appId, destination, [marker]);
      }),
      fuzzParameters(3_000),
    );
  });

  it('writeFilesCommand refuses or builds one command as the app: quoted PEM bodies, shell-safe words elsewhere, random temporary names', async () => {
    const files = fc.array(fc.record({ name: fc.constantFrom('sonarCA.crt' as const, 'device.crt' as const), contents: certificate }), { minLength: 1, maxLength: 2 });
    const runners = fc.constantFrom<Runner>({ kind: 'run-as' }, { kind: 'su', uid: 10100 });
    await checkProperty(
      fc.asyncProperty(runners, appIdArb, destinationFor(appIdArb), files, async (runner, appId, destination, certificates) => {
        const command = refusedOr(() => writeFilesCommand(runner, appId, destination, certificates, '00112233aabbccdd'));
        if (command === undefined) return;
        const prefix = runner.kind === 'run-as' ? `run-as ${appId} sh -c "` : 'su 10100 sh -c "';
        assert.ok(command.startsWith(prefix) && command.endsWith('"'), `unexpected framing: ${JSON.stringify(command.slice(0, 80))}`);
        const script = command.slice(prefix.length, -1).replace(QUOTED_PEM, 'PEM');
        assert.ok(!script.includes('"') && !script.includes("'"), 'a quote inside the sh -c script outside a PEM body');
        certificates.forEach((file) => {
          const temp = `${destination}.${file.name}.00112233aabbccdd.tmp`;
          assert.ok(script.includes(`echo PEM > ${temp} && chmod 644 ${temp} && mv ${temp} ${destination}${file.name} || rm -f ${temp}`), script.slice(0, 300));
        });
        assertWords(script, appId, destination, []);
      }),
      fuzzParameters(3_000),
    );
  });

  // An app id of "." passes every check (it matches ^[\w.-]+$) and makes "/data/data/./" its "private folder":
  // that is /data/data itself, where the su fallback would write. App ids over ~35,000 characters make
  // checkAppFolder's RegExp too large (a SyntaxError, not a HostError); a CN that long needs a CSR over the
  // default 16 KiB limit. Both are left out here and covered by the regression properties below (bugs the fuzzer found, fixed).
  const confinedAppId = appIdArb.filter((id) => id !== '.' && id.length <= 16_384);

  const assertConfined = (appId: string, destination: string) => {
    try {
      checkAppFolder(appId, destination);
    } catch (error) {
      assert.ok(HostError.is(error, 'destination-refused'), `checkAppFolder threw ${String(error)}`);
      return;
    }
    assertShellSafeWord(appId, 'the app id');
    assertSafePath(destination, 'the destination');
    // The folder, with `.` segments resolved, lies inside a private data folder named exactly after the app.
    const normalized = posix.normalize(destination);
    const roots = [/^\/data\/data\/([^/]+)\//, /^\/data\/user\/\d+\/([^/]+)\//, /^\/mnt\/expand\/[0-9a-fA-F-]+\/user\/\d+\/([^/]+)\//];
    const owner = roots.map((r) => r.exec(normalized)?.[1]).find((x) => x !== undefined);
    assert.equal(owner, appId, `checkAppFolder accepted ${JSON.stringify(destination)} (${normalized}) for app ${JSON.stringify(appId)}`);
  };

  it('checkAppFolder accepts only folders inside the private data of the app itself', async () => {
    await checkProperty(
      fc.asyncProperty(confinedAppId, destinationFor(fc.oneof(confinedAppId, fc.constantFrom('.', 'other.app'))), async (appId, destination) => assertConfined(appId, destination)),
      fuzzParameters(3_000),
    );
  });

  it('checkAppFolder refuses the app id "." (its "private folder" /data/data/./ is /data/data)', async () => {
    await checkProperty(
      fc.asyncProperty(fc.constantFrom('.'), destinationFor(fc.constant('.')), async (appId, destination) => assertConfined(appId, destination)),
      fuzzParameters(200, 10_000, { shrink: false }),
    );
  });

  it('checkAppFolder refuses very long app ids with a HostError', async () => {
    await checkProperty(
      fc.asyncProperty(fc.integer({ min: 16_385, max: 80_000 }), fc.constantFrom('a', '.', '-', '_'), privateRoot, async (length, c, root) => {
        const appId = `a${c.repeat(length - 1)}`;
        assertConfined(appId, `${root}${appId}/sonar/`);
      }),
      fuzzParameters(20, 10_000, { shrink: false }),
    );
  });

  describe('the desktop transport', () => {
    let root: string;
    let cleanup: () => Promise<void>;
    let own: ParsedCsr;
    let otherCsr: string;
    let run = 0;
    const transport = new DesktopDeviceTransport(testConfig());

    before(async () => {
      ({ path: root, cleanup } = await makeTempDir('sonarhost-fuzz-dest-'));
      root = await realpath(root);
      own = await parseCsr(await createCsr('com.example.own', await generateRsaKeyPair()));
      otherCsr = await createCsr('com.example.other', await generateRsaKeyPair());
    });
    after(async () => {
      await cleanup();
    });

    /**
     * A fresh tree per case: the app's folder (with a planted symlink where device.crt goes), another
     * app's folder, symlinks into and out of the box, a loop, a file, and an `outside` that must never change.
     */
    async function tree(): Promise<string> {
      const base = join(root, `run-${run++}`);
      await mkdir(join(base, 'box', 'app', 'sonar'), { recursive: true });
      await mkdir(join(base, 'box', 'other', 'sonar'), { recursive: true });
      await mkdir(join(base, 'box', 'nocsr'), { recursive: true });
      await mkdir(join(base, 'outside', 'sonar'), { recursive: true });
      await writeFile(join(base, 'box', 'app', 'sonar', 'app.csr'), `${own.pem}\r\n`);
      await writeFile(join(base, 'box', 'other', 'sonar', 'app.csr'), otherCsr);
      await writeFile(join(base, 'outside', 'sonar', 'app.csr'), otherCsr);
      await writeFile(join(base, 'outside', 'victim.txt'), 'victim');
      await writeFile(join(base, 'box', 'file.txt'), 'a file');
      await symlink(join(base, 'outside', 'victim.txt'), join(base, 'box', 'app', 'sonar', 'device.crt'));
      await symlink(join(base, 'box', 'app', 'sonar'), join(base, 'box', 'alias'));
      await symlink('../outside', join(base, 'box', 'escape'));
      await symlink(join(base, 'box', 'loop'), join(base, 'box', 'loop'));
      await symlink(join(base, 'box', 'app', 'sonar', 'app.csr'), join(base, 'box', 'csr-link'));
      return base;
    }

    /** Every entry under `dir`: kind, and content hash or link target. */
    async function snapshot(dir: string): Promise<Map<string, string>> {
      const entries = new Map<string, string>();
      const walk = async (path: string): Promise<void> => {
        for (const name of await readdir(path)) {
          const full = join(path, name);
          const info = await lstat(full);
          if (info.isSymbolicLink()) entries.set(full, `link:${await readlink(full)}`);
          else if (info.isDirectory()) {
            entries.set(full, 'dir');
            await walk(full);
          } else entries.set(full, `file:${info.mode.toString(8)}:${createHash('sha256').update(await readFile(full)).digest('hex')}`);
        }
      };
      await walk(dir);
      return entries;
    }

    // Roads to the app's folder and away from it, extended by random segments.
    const start = fc.constantFrom(
      'box/app/sonar', 'box/alias', 'box/app/sonar/.', 'box/other/../app/sonar', 'box/escape/../box/app/sonar', 'box/./app//sonar', 'box/alias/../sonar',
      'box/escape/sonar', 'box/other/sonar', 'box/csr-link', 'box/app/sonar/app.csr', 'box/loop', 'box/nocsr', 'box/file.txt', 'box', '..', '../..', '',
    );
    const segment = fc.oneof(
      { weight: 3, arbitrary: fc.constantFrom('box', 'app', 'sonar', 'other', 'alias', 'escape', 'loop', 'file.txt', 'nocsr', 'outside', 'csr-link', '..', '.', '', 'app.csr', 'device.crt') },
      { weight: 1, arbitrary: chaosString.filter((text) => !text.includes('/')) },
    );
    const destination = fc.oneof(
      { weight: 8, arbitrary: fc.tuple(start, fc.array(segment, { maxLength: 3 }), fc.boolean()).map(([head, tail, slash]) => ({ kind: 'under' as const, path: [head, ...tail].join('/'), slash })) },
      { weight: 1, arbitrary: chaosString.map((text) => ({ kind: 'any' as const, path: text, slash: false })) },
    );

    it('locate() and deploy() with random destinations under a folder write only sonarCA.crt and device.crt, only where app.csr matches', async () => {
      const located = new Map<string, number>();
      await checkProperty(
        fc.asyncProperty(destination, async (d) => {
          const base = await tree();
          try {
            await caseIn(base, d.kind === 'under' ? `${base}/${d.path}${d.slash ? '/' : ''}` : d.path);
          } finally {
            await rm(base, { recursive: true, force: true });
          }
        }),
        fuzzParameters(250),
      );
      // The destinations reach the app's folder by several roads (directly, through a symlink, with `.` and `..`).
      assert.ok((located.get('/box/app/sonar') ?? 0) >= 15, `the app's folder was located too rarely: ${JSON.stringify([...located])}`);

      async function caseIn(base: string, path: string): Promise<void> {
        const request: ExchangeRequest = { query: { os: 'Linux', device: 'd', app: 'A', deviceId: '', sdkVersion: 4, medium: CertificateExchangeMedium.FS_ACCESS }, csr: own, destination: path };
        const before = await snapshot(root);
        let target;
        try {
          target = await transport.locate(request);
        } catch (error) {
          assert.ok(HostError.is(error, 'destination-refused'), `locate threw ${String(error)}`);
          assert.deepEqual(await snapshot(root), before, 'a refused destination changed the tree');
          return;
        }
        const folder = target.detail as string;
        located.set(folder.slice(base.length), (located.get(folder.slice(base.length)) ?? 0) + 1);
        assert.equal(target.deviceId, '');
        assert.equal(folder, await realpath(path), 'the folder written is not the destination resolved');
        assert.equal(normalizeCsr(await readFile(join(folder, 'app.csr'), 'utf8')), own.pem, 'located a folder whose app.csr differs');
        await transport.deploy(request, target, [{ name: 'sonarCA.crt', contents: 'CA' }, { name: 'device.crt', contents: 'DEVICE' }]);
        const afterDeploy = await snapshot(root);
        const changed = [...new Set([...before.keys(), ...afterDeploy.keys()])].filter((key) => before.get(key) !== afterDeploy.get(key)).sort();
        assert.deepEqual(changed, [join(folder, 'device.crt'), join(folder, 'sonarCA.crt')], `deploy into ${folder} changed: ${changed.join(', ')}`);
        assert.match(afterDeploy.get(join(folder, 'device.crt'))!, /^file:/, 'device.crt is not a regular file');
        assert.equal(await readFile(join(base, 'outside', 'victim.txt'), 'utf8'), 'victim', 'a planted symlink was followed');
        assert.ok(folder.startsWith(`${base}/`), `wrote outside the folder it was given: ${folder}`);
      }
    });
  });
});
