import assert from 'node:assert/strict';
import fc from 'fast-check';
import { mkdir, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { HostError } from '../../src/core/host-error.js';
import { firstSyntaxErrorOffset } from '../../src/host/json-syntax-error.js';
import { loadHostConfig } from '../../src/host/load-host-config.js';
import { makeTempDir } from '../helpers/temp-dir.js';

describe('loadHostConfig', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  beforeEach(async () => ({ path: dir, cleanup } = await makeTempDir()));
  afterEach(() => cleanup());

  const writeConfig = (value: unknown, name = 'sonarhost.config.json') => writeFile(join(dir, name), typeof value === 'string' ? value : JSON.stringify(value));
  const rejectsWith = async (promise: Promise<unknown>, pattern: RegExp) =>
    assert.rejects(promise, (error: unknown) => {
      assert.ok(HostError.is(error, 'config-invalid'), String(error));
      assert.match((error as Error).message, pattern);
      return true;
    });

  it('uses the defaults when there is no file, variable or flag', async () => {
    const { config, origins, file } = await loadHostConfig({}, {}, dir);
    assert.equal(file, undefined);
    assert.deepEqual(config.ports, { insecure: 8089, secure: 8088 });
    assert.deepEqual(config.host, ['127.0.0.1', '::1']);
    assert.equal(config.certDir, join(homedir(), '.sonar'));
    assert.equal(config.plugins.certificateStore, 'file-certificate-store');
    assert.equal(origins.ports, 'default');
  });

  it('layers file < environment < flags, and records where each value came from', async () => {
    await writeConfig({ ports: { insecure: 1111, secure: 2222 }, certDir: 'certs', logLevel: 'warn', host: '0.0.0.0' });
    const fileOnly = await loadHostConfig({}, {}, dir);
    assert.deepEqual(fileOnly.config.ports, { insecure: 1111, secure: 2222 });
    assert.equal(fileOnly.config.certDir, join(dir, 'certs'), 'relative paths resolve against the config file');
    assert.equal(fileOnly.origins.ports, `file ${join(dir, 'sonarhost.config.json')}`);

    const withEnv = await loadHostConfig({}, { FLIPPER_PORTS: '3333,4444', SONARHOST_LOG_LEVEL: 'debug' }, dir);
    assert.deepEqual(withEnv.config.ports, { insecure: 3333, secure: 4444 });
    assert.equal(withEnv.config.logLevel, 'debug');
    assert.equal(withEnv.config.host[0], '0.0.0.0');
    assert.equal(withEnv.origins.ports, 'env FLIPPER_PORTS');

    const withFlags = await loadHostConfig({ ports: '5555,6666', logLevel: 'error', certDir: '/tmp/x' }, { FLIPPER_PORTS: '3333,4444' }, dir);
    assert.deepEqual(withFlags.config.ports, { insecure: 5555, secure: 6666 });
    assert.equal(withFlags.config.logLevel, 'error');
    assert.equal(withFlags.config.certDir, '/tmp/x');
    assert.equal(withFlags.origins.ports, 'flag --ports');
  });

  it('names every source that set part of the WebSocket ports, not only the last one', async () => {
    const flags = await loadHostConfig({ altPorts: '7001,7002', browserPort: '7003' }, {}, dir);
    assert.deepEqual(flags.config.webSocket, { insecure: 7001, secure: 7002, browser: 7003 });
    assert.equal(flags.origins.webSocket, 'flag --alt-ports, flag --browser-port');
    assert.equal(flags.origins['webSocket.browser'], 'flag --browser-port');

    await writeConfig({ webSocket: { browser: false } });
    const mixed = await loadHostConfig({}, { FLIPPER_ALT_PORTS: '7101,7102' }, dir);
    assert.deepEqual(mixed.config.webSocket, { insecure: 7101, secure: 7102, browser: false });
    assert.equal(mixed.origins.webSocket, `env FLIPPER_ALT_PORTS, file ${join(dir, 'sonarhost.config.json')}`);

    const overridden = await loadHostConfig({ altPorts: '7201,7202' }, { FLIPPER_ALT_PORTS: '7101,7102' }, dir);
    assert.equal(overridden.origins.webSocket, `flag --alt-ports, file ${join(dir, 'sonarhost.config.json')}`, 'a source whose values were all replaced is not named');
  });

  it("sets the Flipper UI API's port by file, environment and flag, and turns it off with false or \"off\"", async () => {
    const defaults = await loadHostConfig({}, {}, dir);
    assert.deepEqual(defaults.config.flipperServer, { port: 52342 });
    assert.ok(defaults.config.plugins.services.includes('flipper-server-api'));
    assert.equal(defaults.origins.flipperServer, 'default');
    await writeConfig({ flipperServer: { port: false } });
    const file = await loadHostConfig({}, {}, dir);
    assert.deepEqual(file.config.flipperServer, { port: false });
    assert.equal(file.origins.flipperServer, `file ${join(dir, 'sonarhost.config.json')}`);
    const env = await loadHostConfig({}, { SONARHOST_FLIPPER_PORT: '7301' }, dir);
    assert.deepEqual([env.config.flipperServer, env.origins.flipperServer], [{ port: 7301 }, 'env SONARHOST_FLIPPER_PORT']);
    const flag = await loadHostConfig({ flipperPort: 'off' }, { SONARHOST_FLIPPER_PORT: '7301' }, dir);
    assert.deepEqual([flag.config.flipperServer, flag.origins.flipperServer], [{ port: false }, 'flag --flipper-port']);
    await rejectsWith(loadHostConfig({ flipperPort: 'high' }, {}, dir), /Invalid --flipper-port \(from the command line\): expected a port number/);
    await writeConfig({ flipperServer: { port: 1, extra: true } });
    await rejectsWith(loadHostConfig({}, {}, dir), /Invalid flipperServer .*expected \{"port": <port or false>\}/);
  });

  it('reads --config and $SONARHOST_CONFIG, and requires that file to exist', async () => {
    await mkdir(join(dir, 'etc'));
    await writeConfig({ ports: { insecure: 7001 } }, 'etc/host.json');
    assert.equal((await loadHostConfig({ config: 'etc/host.json' }, {}, dir)).config.ports.insecure, 7001);
    assert.equal((await loadHostConfig({}, { SONARHOST_CONFIG: join(dir, 'etc/host.json') }, dir)).config.ports.insecure, 7001);
    await rejectsWith(loadHostConfig({ config: 'missing.json' }, {}, dir), /Cannot read the config file .*missing\.json/);
  });

  it('resolves relative plugin paths against the config file, and keeps ids and package names', async () => {
    await writeConfig({ plugins: { deviceTransports: ['./my-transport.js', 'android', '@acme/sonar-transport'] } });
    const { config } = await loadHostConfig({}, {}, dir);
    assert.deepEqual(config.plugins.deviceTransports, [join(dir, 'my-transport.js'), 'android', '@acme/sonar-transport']);
  });

  const invalid: Array<[string, unknown, Record<string, string>, RegExp]> = [
    ['FLIPPER_PORTS in the wrong form', {}, { FLIPPER_PORTS: '8089' }, /Invalid FLIPPER_PORTS \(from environment\): expected "<insecure>,<secure>" such as "8089,8088", got "8089"/],
    ['FLIPPER_PORTS out of range', {}, { FLIPPER_PORTS: '8089,70000' }, /Invalid FLIPPER_PORTS .*port number from 1 to 65535/],
    ['a port that is not a number', { ports: { secure: 'high' } }, {}, /Invalid ports\.secure \(from file .*\): expected a port number/],
    ['an unknown top-level key', { prots: {} }, {}, /Unknown key "prots" in .*Known keys: host, ports/],
    ['an unknown plugin slot', { plugins: { transport: ['x'] } }, {}, /Unknown key "plugins\.transport"/],
    ['a plugin list that is not a list', { plugins: { deviceTransports: 'android' } }, {}, /Invalid plugins\.deviceTransports .*an array of plugin ids/],
    ['a log level that does not exist', { logLevel: 'verbose' }, {}, /Invalid logLevel .*one of debug, info, warn, error, got "verbose"/],
    ['a bad limit', { limits: { maxCsrBytes: -1 } }, {}, /Invalid limits\.maxCsrBytes .*positive whole number/],
    ['broken JSON', '{ "ports": ', {}, /is not valid JSON/],
  ];
  for (const [name, file, env, pattern] of invalid) {
    it(`names the key and the expected form for ${name}`, async () => {
      await writeConfig(file);
      await rejectsWith(loadHostConfig({}, env, dir), pattern);
    });
  }

  it('rejects a bad --ports flag naming the flag', async () => {
    await rejectsWith(loadHostConfig({ ports: '1,1' }, {}, dir), /Invalid --ports \(from the command line\): expected two different ports/);
  });

  it('says where broken JSON breaks as line and column, whatever V8 says (issue 23)', async () => {
    for (const [text, where] of [
      ['{\n  "ports": }', /line 2, column 12: Unexpected token '\}'/],
      ['{\n  "logLevel": "warn",\n}', /line 3, column 1: Expected double-quoted property name\./],
      ['{\n  "logLevel": "warn"\n  "certDir": "x"\n}', /line 3, column 3: Expected ',' or '\}' after property value\./],
      ['{ "certDir": "unfinished', /line 1, column 25: Unterminated string\./],
      ['{\n  "ports": ', /line 2, column 12: Unexpected end of the file\./],
    ] as const) {
      await writeConfig(text);
      await rejectsWith(loadHostConfig({}, {}, dir), where);
    }
  });

  it('reports every invalid key of a file at once, each with its key, origin and expected form', async () => {
    await writeConfig({ logLevel: 'loud', plugins: { deviceTransports: 'desktop', bogus: [] }, limits: { maxClients: -1 }, webSocket: { browser: 'high', secure: 1 }, extra: 1 });
    await assert.rejects(loadHostConfig({}, {}, dir), (error: unknown) => {
      assert.ok(HostError.is(error, 'config-invalid'), String(error));
      const lines = (error as Error).message.split('\n');
      assert.match(lines[0]!, /^6 problems in .*sonarhost\.config\.json:$/);
      const file = `\\(from file ${join(dir, 'sonarhost.config.json').replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}\\)`;
      for (const pattern of [
        /^ {2}- Unknown key "extra" in /,
        new RegExp(`^ {2}- Invalid logLevel ${file}: expected `),
        new RegExp(`^ {2}- Invalid plugins\\.deviceTransports ${file}: expected an array of plugin ids or module paths`),
        /^ {2}- Unknown key "plugins\.bogus"/,
        /^ {2}- Unknown key "limits\.maxClients"|^ {2}- Invalid limits\.maxClients/,
        new RegExp(`^ {2}- Invalid webSocket\\.browser ${file}: expected a port number`),
      ]) {
        assert.ok(lines.some((l) => pattern.test(l)), `${pattern} in:\n${(error as Error).message}`);
      }
      return true;
    });
  });

  it('keeps a single problem as its own message', async () => {
    await writeConfig({ logLevel: 'loud' });
    await rejectsWith(loadHostConfig({}, {}, dir), /^Invalid logLevel \(from file .*\): expected /);
  });

  it('finds no syntax error in any JSON text, and the offending character where V8 names only a token', () => {
    fc.assert(fc.property(fc.jsonValue(), fc.boolean(), (value, pretty) => firstSyntaxErrorOffset(JSON.stringify(value, null, pretty ? 2 : undefined)) === undefined));
    for (const text of ['{"a": }', '[1, 2,, 3]', '{"a": tru}', '{"a": 01}', '{"a": "\\x"}', '[1] 2']) {
      const offset = firstSyntaxErrorOffset(text);
      assert.ok(offset !== undefined, text);
      assert.throws(() => JSON.parse(text));
      assert.ok(offset < text.length, `${text}: ${offset}`);
    }
  });
});

