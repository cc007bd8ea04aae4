import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { useEtcdCluster } from '../../../deploy/etcd/jest';
import { startCellTopo, type CellTopoFixture } from '../../../services/cell-topo/cell-topo.fixture';
import { startGlobalTopo, type GlobalTopoFixture } from '../../../services/global-topo/global-topo.fixture';
import { Tablet, TabletType } from '../../proto';
import { call } from '../../testing/grpc-call';
import { TcpRelay } from '../../watch/tcp-relay.fixture';
import { isGroup } from './command';
import { COMMANDS } from './commands';
import { run } from './main';
import { until } from '../../testing/until';

const etcd = useEtcdCluster({ members: 1 });
let global: GlobalTopoFixture;
let cell: CellTopoFixture;
const cellRoot = `/test/${process.pid}-topoctl/zone1`;

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

const text = (chunk: string | Uint8Array): string => (typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString());

/** Runs topoctl in-process against the fixtures; `signal` stops a watch. */
function start(argv: string[], signal?: AbortSignal): { done: Promise<Result>; stdout: () => string; stderr: () => string } {
  let stdout = '';
  let stderr = '';
  const done = run(['--global', global.address, ...argv], {
    stdout: { write: (chunk) => (stdout += text(chunk)) },
    stderr: { write: (chunk) => (stderr += text(chunk)) },
    signal,
    env: {},
  }).then((code) => ({ code, stdout, stderr }));
  return { done, stdout: () => stdout, stderr: () => stderr };
}

const topoctl = (...argv: string[]): Promise<Result> => start(argv).done;

/** Runs a command that must succeed and returns its stdout. */
async function ok(...argv: string[]): Promise<string> {
  const result = await topoctl(...argv);
  if (result.code !== 0) throw new Error(`topoctl ${argv.join(' ')} exited ${result.code}: ${result.stderr}`);
  return result.stdout;
}

/** `topoctl tablets create` with the flags every tablet needs. */
const createTablet = (alias: string, shard: string, type: string, ...more: string[]): Promise<Result> =>
  topoctl(
    ...['tablets', 'create', '--alias', alias, '--hostname', `db${alias.split('-')[1]}`],
    ...['--keyspace', 'ks', '--shard', shard, '--type', type, ...more],
  );

/** Changes a tablet's type behind the CLI's back, as a tablet would. */
async function setType(alias: string, type: TabletType): Promise<void> {
  const c = cell.client;
  await call(c.updateTabletFields.bind(c), { alias, type, hostname: '', portMap: {}, tags: {}, version: '0' });
}

const STACK_FRAME = /^\s+at /m;

interface WatchEvent {
  revision: string;
  alias: string;
  state: string;
  type: string;
  hostname: string;
  snapshot: boolean;
}

beforeAll(async () => {
  global = await startGlobalTopo(etcd().endpoints);
  cell = await startCellTopo({ endpoints: etcd().endpoints, root: cellRoot, cell: 'zone1', globalAddress: global.address });
  await ok('cells', 'create', 'zone1', '--address', cell.address, '--root', cellRoot);
  await ok('keyspaces', 'create', 'ks');
  await ok('shards', 'create', 'ks/-80');
  await ok('shards', 'create', 'ks/80-');
  // cell-topo validates tablets against its watched copy of the global topology.
  await until('cell-topo to see ks/-80', async () => {
    return (await createTablet('zone1-1', '-80', 'REPLICA')).code === 0;
  });
  await ok('tablets', 'delete', 'zone1-1');
}, 60_000);
afterAll(async () => {
  await cell?.stop();
  await global?.stop();
});

describe('topoctl', () => {
  it('prints help with exit 0 for the top level, every group and every command', async () => {
    const top = await topoctl('--help');
    expect(top.code).toBe(0);
    expect(top.stdout).toContain('Usage: topoctl [global options] COMMAND');
    for (const entry of COMMANDS) {
      const paths = isGroup(entry) ? [[entry.name], ...entry.commands.map((c) => [entry.name, c.name])] : [[entry.name]];
      for (const path of paths) {
        const result = await topoctl(...path, '--help');
        expect({ path, code: result.code, stderr: result.stderr }).toEqual({ path, code: 0, stderr: '' });
        expect(result.stdout).toContain(`topoctl ${path.join(' ')}`);
        expect(result.stdout).toContain('--global host:port');
      }
    }
  });

  it('exits 2 with the help text on a usage error', async () => {
    const missingArg = await topoctl('keyspaces', 'create');
    expect(missingArg.code).toBe(2);
    expect(missingArg.stderr).toMatch(/^error: missing NAME\n/);
    expect(missingArg.stderr).toContain('Usage: topoctl keyspaces create NAME [options]');

    const unknownFlag = await topoctl('keyspaces', 'list', '--bogus');
    expect(unknownFlag.code).toBe(2);
    expect(unknownFlag.stderr).toContain("Unknown option '--bogus'");
    expect(unknownFlag.stderr).toContain('Usage: topoctl keyspaces list');

    const unknownSubcommand = await topoctl('keyspaces', 'frobnicate');
    expect(unknownSubcommand.code).toBe(2);
    expect(unknownSubcommand.stderr).toContain('Subcommands:');

    const missingRequiredFlag = await topoctl('cells', 'create', 'zone9', '--root', '/topo/zone9');
    expect(missingRequiredFlag.code).toBe(2);
    expect(missingRequiredFlag.stderr).toMatch(/^error: --address is required\n/);

    for (const argv of [[], ['--timeout', 'soon', 'keyspaces', 'list'], ['tablets', 'get', 'not-an-alias'], ['watch']]) {
      const result = await topoctl(...argv);
      expect({ argv, code: result.code }).toEqual({ argv, code: 2 });
      expect(result.stderr).toMatch(/^error: /);
      expect(result.stderr).toContain('Usage: topoctl');
      expect(result.stdout).toBe('');
    }
  });

  it('prints NOT_FOUND with its message and exits 1, with no stack trace', async () => {
    const result = await topoctl('keyspaces', 'get', 'nope');
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^error: NOT_FOUND: .*nope/);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).not.toMatch(STACK_FRAME);
    expect(result.stdout).toBe('');
  });

  it('creates, lists and gets keyspaces and shards, in tables and in JSON', async () => {
    expect(await ok('keyspaces', 'create', 'commerce')).toMatch(/^created keyspace commerce \(version \d+\)\n$/);
    expect((await ok('keyspaces', 'list')).split('\n')).toEqual(expect.arrayContaining(['commerce', 'ks']));
    expect(JSON.parse(await ok('keyspaces', 'list', '--json'))).toEqual(expect.arrayContaining(['commerce', 'ks']));

    const keyspace = JSON.parse(await ok('--json', 'keyspaces', 'get', 'commerce'));
    expect(keyspace).toMatchObject({ name: 'commerce', version: expect.stringMatching(/^\d+$/) });
    expect(await ok('keyspaces', 'get', 'commerce')).toMatch(/^keyspace: +commerce$/m);

    expect(await ok('shards', 'create', 'commerce/0')).toContain('created shard commerce/0 (primary serving: yes');
    // No tablet zone1-100 exists: refused unless forced.
    const refusedPrimary = await topoctl('shards', 'set-primary', 'commerce/0', 'zone1-100');
    expect(refusedPrimary.code).toBe(1);
    expect(refusedPrimary.stderr).toMatch(/^error: FAILED_PRECONDITION: tablet zone1-0000000100 does not exist in cell zone1 .*; --force records it anyway\n$/);
    const forced = await topoctl('shards', 'set-primary', 'commerce/0', 'zone1-100', '--force');
    expect(forced.code).toBe(0);
    expect(forced.stdout).toContain('primary zone1-0000000100');
    expect(forced.stderr).toMatch(/^warning: tablet zone1-0000000100 does not exist/);
    const shard = JSON.parse(await ok('shards', 'get', 'commerce/0', '--json'));
    expect(shard).toMatchObject({
      keyspace: 'commerce',
      name: '0',
      shard: { primaryAlias: { cell: 'zone1', uid: 100 }, isPrimaryServing: true },
    });
    // One time format in JSON: RFC 3339, as every other time topoctl prints.
    expect(shard.shard.primaryTermStartTime).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);

    const table = (await ok('shards', 'list', 'ks')).trim().split('\n');
    expect(table[0]).toMatch(/^SHARD +PRIMARY +PRIMARY SERVING +VERSION$/);
    expect(table.slice(1).map((line) => line.split(/\s+/)[0])).toEqual(['-80', '80-']);
    const shards = JSON.parse(await ok('shards', 'list', 'ks', '--json')) as Array<{ name: string; shard: { keyRange: unknown } }>;
    expect(shards.map((s) => s.name)).toEqual(['-80', '80-']);
    // Key ranges in hex, as shard names write them, not proto3 JSON's base64.
    expect(shards.map((s) => s.shard.keyRange)).toEqual([{ start: '', end: '80' }, { start: '80', end: '' }]);

    const rebuilt = JSON.parse(await ok('rebuild', 'keyspace', 'commerce', '--json'));
    expect(rebuilt).toEqual([{ cell: 'zone1', version: expect.stringMatching(/^\d+$/) }]);

    const refused = await topoctl('keyspaces', 'delete', 'commerce');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^error: FAILED_PRECONDITION: /);
    expect(await ok('keyspaces', 'delete', 'commerce', '--recursive')).toBe('deleted keyspace commerce\n');
  });

  it('lists the cells with the address global-topo holds for each', async () => {
    const table = (await ok('cells', 'list')).trim().split('\n');
    expect(table[0]).toMatch(/^CELL +ADDRESS +ROOT +VERSION$/);
    expect(table[1].split(/\s+/).slice(0, 3)).toEqual(['zone1', cell.address, cellRoot]);
    expect(JSON.parse(await ok('cells', 'list', '--json'))).toEqual([
      { name: 'zone1', version: expect.any(String), cellInfo: { serverAddress: cell.address, root: cellRoot } },
    ]);
  });

  it('creates, lists, gets and deletes a tablet in the cell its alias names', async () => {
    const created = await createTablet('zone1-200', '-80', 'replica', '--port', 'grpc=15200');
    expect(created.stdout).toMatch(/^created tablet zone1-0000000200 \(version \d+\)\n$/);

    const everyCell = (await ok('tablets', 'list')).trim().split('\n');
    expect(everyCell[0]).toMatch(/^ALIAS +KEYSPACE +SHARD +TYPE +HOSTNAME +ALIVE$/);
    expect(everyCell).toContainEqual(expect.stringMatching(/^zone1-0000000200 +ks +-80 +REPLICA +db200 +no$/));
    const filtered = JSON.parse(await ok('tablets', 'list', '--cell', 'zone1', '--shard', '-80', '--type', 'REPLICA', '--json'));
    expect(filtered).toEqual([expect.objectContaining({ alias: 'zone1-0000000200', alive: false })]);
    expect(JSON.parse(await ok('tablets', 'list', '--cell', 'zone1', '--type', 'PRIMARY', '--json'))).toEqual([]);

    const got = JSON.parse(await ok('tablets', 'get', 'zone1-200', '--json'));
    expect(got).toMatchObject({
      alias: 'zone1-0000000200',
      alive: false,
      tablet: { hostname: 'db200', portMap: { grpc: 15200 }, type: 'REPLICA' },
    });
    expect(await ok('tablets', 'get', 'zone1-0000000200')).toMatch(/^hostname: +db200$/m);

    const wrongCell = await topoctl('tablets', 'get', 'zone1-200', '--cell', 'zone2');
    expect(wrongCell.code).toBe(2);

    expect(await ok('tablets', 'delete', 'zone1-200')).toBe('deleted tablet zone1-0000000200\n');
    const gone = await topoctl('tablets', 'get', 'zone1-200');
    expect(gone.code).toBe(1);
    expect(gone.stderr).toMatch(/^error: NOT_FOUND: /);
  });

  it('takes a lock with a fencing token, lists it, and releases it', async () => {
    const grant = JSON.parse(await ok('lock', 'ks/-80', '--action', 'topoctl test', '--ttl', '30s', '--holder', 'tester', '--json'));
    expect(grant).toMatchObject({
      lockId: expect.stringContaining('keyspaces/ks/shards/-80'),
      fencingToken: expect.stringMatching(/^[1-9]\d*$/),
      target: 'ks/-80',
    });

    const table = (await ok('locks')).trim().split('\n');
    expect(table[0]).toMatch(/^LOCK ID +TARGET +HOLDER +ACTION +SINCE +TOKEN +HELD$/);
    const row = new RegExp(`^${grant.lockId} +ks/-80 +tester +topoctl test +\\S+ +${grant.fencingToken} +yes$`);
    expect(table).toContainEqual(expect.stringMatching(row));

    // Busy: the holder is named, with what it is doing and the lock's id and token.
    const busy = await topoctl('lock', 'ks/-80', '--action', 'second', '--try');
    expect(busy.code).toBe(1);
    const [held] = JSON.parse(await ok('locks', 'ks/-80', '--json')) as Array<{ hostname: string; requestedAt: string }>;
    expect(busy.stderr).toBe(
      `error: ALREADY_EXISTS: ks/-80 is locked by tester on ${held.hostname} for "topoctl test" since ${held.requestedAt} ` +
        `(lock id ${grant.lockId}, fencing token ${grant.fencingToken})\n`,
    );
    // A wrong token is told apart from a lock that is gone.
    const wrongToken = await topoctl('unlock', grant.lockId, String(BigInt(grant.fencingToken) + 1n));
    expect(wrongToken.code).toBe(1);
    expect(wrongToken.stderr).toContain(`lock ${grant.lockId} is held with fencing token ${grant.fencingToken}, not ${BigInt(grant.fencingToken) + 1n}`);

    expect(await ok('unlock', grant.lockId, grant.fencingToken)).toBe(`released ${grant.lockId}\n`);
    expect(JSON.parse(await ok('locks', 'ks/-80', '--json'))).toEqual([]);
    const gone = await topoctl('unlock', grant.lockId, grant.fencingToken);
    expect(gone.code).toBe(1);
    expect(gone.stderr).toContain(`lock ${grant.lockId} is not held: it expired or was released`);
  });

  it('names the missing keyspace or shard of a lock, and checks a lock TTL before calling', async () => {
    for (const [argv, message] of [
      [['lock', 'nope', '--action', 'x'], 'keyspace "nope" does not exist'],
      [['lock', 'ks/40-', '--action', 'x', '--try'], 'shard "ks/40-" does not exist'],
      [['locks', 'nope'], 'keyspace "nope" does not exist'],
    ] as const) {
      const result = await topoctl(...argv);
      expect({ argv, code: result.code, stderr: result.stderr }).toEqual({ argv, code: 1, stderr: `error: NOT_FOUND: ${message}\n` });
    }
    for (const ttl of ['2h', '1.5s', '0s']) {
      const result = await topoctl('lock', 'ks', '--action', 'x', '--ttl', ttl, '--global', '127.0.0.1:1');
      expect({ ttl, code: result.code }).toEqual({ ttl, code: 2 });
      expect(result.stderr).toMatch(/^error: --ttl .*(must be whole seconds from 1s to 1h|longer than 0)/);
    }
  });

  it('checks a recorded primary: the tablet must exist in that shard, and should be PRIMARY', async () => {
    expect((await createTablet('zone1-600', '80-', 'REPLICA')).code).toBe(0);
    const otherShard = await topoctl('shards', 'set-primary', 'ks/-80', 'zone1-600');
    expect(otherShard.code).toBe(1);
    expect(otherShard.stderr).toBe('error: FAILED_PRECONDITION: tablet zone1-0000000600 belongs to ks/80-, not ks/-80; --force records it anyway\n');
    const notPrimaryYet = await topoctl('shards', 'set-primary', 'ks/80-', 'zone1-600');
    expect(notPrimaryYet.code).toBe(0);
    expect(notPrimaryYet.stderr).toBe('warning: tablet zone1-0000000600 is of type REPLICA, not PRIMARY\n');
    expect(JSON.parse(await ok('shards', 'get', 'ks/80-', '--json')).shard.primaryAlias).toEqual({ cell: 'zone1', uid: 600 });
    await ok('tablets', 'delete', 'zone1-600');
  });

  it('refuses a uid beyond uint32 as a usage error, and prints errors as JSON with --json', async () => {
    const tooBig = await createTablet('zone1-99999999999', '-80', 'REPLICA');
    expect(tooBig.code).toBe(2);
    expect(tooBig.stderr).toMatch(/^error: "zone1-99999999999": the uid 99999999999 is larger than 4294967295/);

    const missing = await topoctl('keyspaces', 'get', 'nope', '--json');
    expect(missing.code).toBe(1);
    expect(missing.stdout).toBe('');
    expect(JSON.parse(missing.stderr)).toEqual({ error: { code: 'NOT_FOUND', message: expect.stringContaining('nope'), exitCode: 1 } });
    const usage = await topoctl('keyspaces', 'create', '--json');
    expect(usage.code).toBe(2);
    expect(JSON.parse(usage.stderr)).toEqual({ error: { code: 'USAGE', message: 'missing NAME', exitCode: 2 } });
  });

  it('prints its version, and a completion script generated from its commands', async () => {
    const version = await topoctl('--version');
    expect(version.code).toBe(0);
    expect(version.stdout).toMatch(/^topoctl 0\.1\.0( \(\S+\))? node \d+\.\d+\.\d+\n$/);
    expect(JSON.parse((await topoctl('--version', '--json')).stdout)).toMatchObject({ version: '0.1.0' });

    const script = await ok('completion', 'bash');
    const complete = (...words: string[]): string[] => {
      const line = ['topoctl', ...words].map((w) => `'${w}'`).join(' ');
      const out = execFileSync('bash', ['-c', `${script}\nCOMP_WORDS=(${line}); COMP_CWORD=${words.length}; _topoctl; printf '%s\\n' "\${COMPREPLY[@]}"`], { encoding: 'utf8' });
      return out.split('\n').filter((w) => w !== '');
    };
    expect(complete('sh')).toEqual(['shards']);
    expect(complete('--global', 'x:1', 'tablets', 're')).toEqual(['register']);
    expect(complete('shards', 'set-primary', '--fo')).toEqual(['--force']);
    expect(complete('tablets', 'list', '--type', 'RD')).toEqual(['RDONLY']);
    expect((await ok('completion', 'zsh'))).toContain('bashcompinit');
    expect((await topoctl('completion', 'fish')).code).toBe(2);
  });

  it('applies a vschema and routing rules from a file, and reads them back', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'topoctl-vschema-'));
    try {
      const vschema = { sharded: true, vindexes: { hash: { type: 'hash' } }, tables: { customer: { column_vindexes: [{ column: 'id', name: 'hash' }] } } };
      writeFileSync(join(dir, 'vschema.json'), JSON.stringify(vschema, null, 2));
      writeFileSync(join(dir, 'broken.json'), '{"sharded": tru');

      const dry = await topoctl('vschema', 'apply', 'ks', '--file', join(dir, 'vschema.json'), '--dry-run');
      expect(dry.code).toBe(0);
      expect(dry.stderr).toContain('dry run');
      expect((await topoctl('vschema', 'get', 'ks')).code).toBe(1); // nothing saved

      expect(await ok('vschema', 'apply', 'ks', '-f', join(dir, 'vschema.json'))).toMatch(/^saved the vschema \(version \d+\)\n$/);
      // Saved as Vitess's binary vschema.Keyspace, printed back as proto3 JSON (camelCase names).
      const printed = { sharded: true, vindexes: { hash: { type: 'hash' } }, tables: { customer: { columnVindexes: [{ column: 'id', name: 'hash' }] } } };
      expect(JSON.parse(await ok('vschema', 'get', 'ks'))).toEqual(printed);
      expect(JSON.parse(await ok('vschema', 'get', 'ks', '--json'))).toMatchObject({ keyspace: 'ks', json: printed });

      const broken = await topoctl('vschema', 'apply', 'ks', '--file', join(dir, 'broken.json'));
      expect(broken.code).toBe(2);
      expect(broken.stderr).toMatch(/^error: --file .*broken\.json is not JSON/);
      expect((await topoctl('vschema', 'apply', 'nope', '--file', join(dir, 'vschema.json'))).code).toBe(1);

      const rules = { rules: [{ from_table: 'customer@replica', to_tables: ['ks.customer'] }] };
      writeFileSync(join(dir, 'rules.json'), JSON.stringify(rules));
      const saved = await ok('routing-rules', 'apply', '--file', join(dir, 'rules.json'), '--json');
      expect(JSON.parse(await ok('routing-rules', 'get', '--json'))).toEqual({
        version: JSON.parse(saved).version,
        json: { rules: [{ fromTable: 'customer@replica', toTables: ['ks.customer'] }] },
      });
      const stale = await topoctl('routing-rules', 'apply', '--file', join(dir, 'rules.json'), '--version', '1');
      expect(stale.code).toBe(1);
      expect(stale.stderr).toMatch(/^error: FAILED_PRECONDITION: /);
      await ok('vschema', 'delete', 'ks');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('creates, lists, updates and deletes cells aliases', async () => {
    expect(await ok('cells-aliases', 'create', 'region1', '--cells', 'zone1')).toMatch(/^created cells alias region1: zone1 \(version \d+\)\n$/);
    expect((await ok('cells-aliases', 'list')).trim().split('\n')).toEqual([expect.stringMatching(/^ALIAS +CELLS +VERSION$/), expect.stringMatching(/^region1 +zone1 +\d+$/)]);
    const missingCells = await topoctl('cells-aliases', 'create', 'region2');
    expect(missingCells.code).toBe(2);
    expect(JSON.parse(await ok('cells-aliases', 'get', 'region1', '--json'))).toMatchObject({ name: 'region1', cells: ['zone1'] });
    const taken = await topoctl('cells-aliases', 'create', 'region2', '--cells', 'zone1');
    expect(taken.code).toBe(1);
    expect(await ok('cells-aliases', 'delete', 'region1')).toBe('deleted cells alias region1\n');
    expect(JSON.parse(await ok('cells-aliases', 'list', '--json'))).toEqual([]);
  });

  it('registers a tablet and keeps it alive until stopped, then unregisters it', async () => {
    const stop = new AbortController();
    const registered = start(['tablets', 'register', 'zone1-700', '--keyspace', 'ks', '--shard', '-80', '--type', 'REPLICA', '--ttl', '1s'], stop.signal);
    try {
      await until('the registration', () => registered.stdout().includes('registered zone1-0000000700'), 10_000);
      // Alive past its TTL: the heartbeats keep the lease.
      await new Promise((resolve) => setTimeout(resolve, 1500));
      expect(JSON.parse(await ok('tablets', 'get', 'zone1-700', '--json'))).toMatchObject({ alive: true, tablet: { type: 'REPLICA' } });
    } finally {
      stop.abort();
    }
    const result = await registered.done;
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/unregistered zone1-0000000700\n$/);
    expect(JSON.parse(await ok('tablets', 'get', 'zone1-700', '--json')).alive).toBe(false);
    await ok('tablets', 'delete', 'zone1-700');

    const noShard = await topoctl('tablets', 'register', 'zone1-701', '--keyspace', 'ks', '--shard', '40-', '--type', 'REPLICA', '--timeout', '3s');
    expect(noShard.code).toBe(1);
    expect(noShard.stderr).toBe('error: FAILED_PRECONDITION: tablet.shard: shard "ks/40-" does not exist in the global topology\n');
  });

  it('watch --path follows a directory of the global topology with its records decoded', async () => {
    const stop = new AbortController();
    const human = start(['watch', '--path', 'keyspaces'], stop.signal);
    const json = start(['watch', '--path', '/keyspaces/', '--json'], stop.signal);
    try {
      await until('the snapshot', () => / put keyspaces\/ks\/Keyspace Keyspace /.test(human.stdout()), 10_000);
      await ok('keyspaces', 'create', 'watched');
      await ok('shards', 'create', 'watched/-80');
      await until('the new shard', () => human.stdout().includes('put keyspaces/watched/shards/-80/Shard Shard {'), 10_000);
      expect(human.stdout()).toMatch(/"keyRange":\{"start":"","end":"80"\}/);
      await ok('keyspaces', 'delete', 'watched', '--recursive');
      await until('the deletion', () => / delete keyspaces\/watched\/Keyspace deleted$/m.test(human.stdout()), 10_000);
      await until('the JSON watch', () => json.stdout().includes('"delete"'), 10_000);
    } finally {
      stop.abort();
    }
    expect((await human.done).code).toBe(0);
    const events = (await json.done).stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as { path: string; type: string; value: unknown; snapshot: boolean });
    expect(events.find((e) => e.path === 'keyspaces/watched/shards/-80/Shard')).toMatchObject({ type: 'Shard', snapshot: false, value: { keyRange: { start: '', end: '80' } } });
    expect((await topoctl('watch', '--path', '/', '--type', 'REPLICA')).code).toBe(2);
  });

  it('lists and reads raw paths of global-topo, and of a cell with --cell', async () => {
    expect((await ok('ls')).split('\n')).toEqual(expect.arrayContaining(['cells/', 'keyspaces/']));
    expect((await ok('ls', '/keyspaces/ks')).split('\n')).toEqual(expect.arrayContaining(['Keyspace', 'shards/']));
    const entries = JSON.parse(await ok('ls', 'keyspaces/ks', '--json'));
    expect(entries).toContainEqual({ name: 'Keyspace', type: 'file', ephemeral: false });

    const cellInfo = JSON.parse(await ok('cat', 'cells/zone1/CellInfo'));
    expect(cellInfo).toEqual({ serverAddress: cell.address, root: cellRoot });
    const keyspace = JSON.parse(await ok('cat', 'keyspaces/ks/Keyspace', '--json'));
    expect(keyspace).toMatchObject({ path: 'keyspaces/ks/Keyspace', type: 'Keyspace', version: expect.stringMatching(/^\d+$/) });

    expect((await createTablet('zone1-300', '80-', 'RDONLY')).code).toBe(0);
    expect(await ok('ls', 'tablets', '--cell', 'zone1')).toContain('zone1-0000000300/');
    const record = JSON.parse(await ok('cat', 'tablets/zone1-0000000300/Tablet', '--cell', 'zone1'));
    expect(record).toMatchObject({ hostname: 'db300', type: 'RDONLY' });

    const missing = await topoctl('cat', 'keyspaces/none/Keyspace');
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/^error: NOT_FOUND: /);

  });

  it('removes a raw file only at the version given', async () => {
    const version = await global.store.create('scratch/note', Buffer.from('left by hand'));
    expect(await ok('cat', 'scratch/note')).toBe('left by hand\n');
    const stale = await topoctl('rm', 'scratch/note', '--version', String(version - 1n));
    expect(stale.code).toBe(1);
    expect(stale.stderr).toMatch(/^error: FAILED_PRECONDITION: /);
    expect(await ok('rm', 'scratch/note', '--version', String(version))).toBe('deleted scratch/note\n');
    expect((await topoctl('cat', 'scratch/note')).code).toBe(1);
  });

  it('reports health per service of global-topo and each cell, and exits 1 when one is unreachable', async () => {
    const healthy = await topoctl('health');
    expect(healthy.code).toBe(0);
    const rows = healthy.stdout.trim().split('\n');
    expect(rows[0]).toMatch(/^TARGET +ADDRESS +SERVICE +STATUS$/);
    expect(rows.slice(1).map((row) => row.split(/\s+/))).toEqual([
      ['global', global.address, 'topo.global.v1.GlobalTopoService', 'SERVING'],
      ['global', global.address, 'topo.path.v1.PathService', 'SERVING'],
      ['zone1', cell.address, 'topo.cell.v1.CellTopoService', 'SERVING'],
      ['zone1', cell.address, 'topo.path.v1.PathService', 'SERVING'],
    ]);
    expect(JSON.parse(await ok('health', '--cell', 'zone1', '--json'))).toMatchObject({ serving: true });

    const down = await topoctl('health', '--cell-address', '127.0.0.1:1', '--json');
    expect(down.code).toBe(1);
    const report = JSON.parse(down.stdout) as { serving: boolean; services: Array<{ target: string; status: string }> };
    expect(report.serving).toBe(false);
    expect(report.services.filter((s) => s.target === 'cell').map((s) => s.status)).toEqual(['UNAVAILABLE', 'UNAVAILABLE']);
  });

  it('watch prints the current tablets, then one line per change, and resumes after a disconnect', async () => {
    const relay = await TcpRelay.start(`http://${cell.address}`);
    const cellAddress = relay.url.replace('http://', '');
    const stop = new AbortController();
    const lines = (out: string): string[] => out.split('\n').filter((line) => line !== '');
    const watch = start(['watch', '--cell-address', cellAddress, '--keyspace', 'ks'], stop.signal);
    const json = start(['watch', '--cell-address', cellAddress, '--keyspace', 'ks', '--json'], stop.signal);
    try {
      expect((await createTablet('zone1-400', '-80', 'REPLICA')).code).toBe(0);
      await until('the created tablet', () => /zone1-0000000400 REPLICA ks\/-80 not-alive$/m.test(watch.stdout()));
      await setType('zone1-400', TabletType.RDONLY);
      await until('the type change', () => /zone1-0000000400 RDONLY ks\/-80 not-alive$/m.test(watch.stdout()));

      // Cut the connection, change the tablet while the watch is away, then let it back in.
      relay.cut();
      await until('the watch to notice the disconnect', () => watch.stderr().includes('disconnected'));
      await ok('tablets', 'delete', 'zone1-400');
      relay.restore();
      await until('the missed removal', () => /zone1-0000000400 RDONLY ks\/-80 removed$/m.test(watch.stdout()));
      expect(watch.stderr()).toMatch(/resuming from revision \d+/);
      await until('the JSON watch to catch up', () => lines(json.stdout()).some((line) => line.includes('"removed"')));
    } finally {
      stop.abort();
      await relay.close();
    }
    const [human, machine] = await Promise.all([watch.done, json.done]);
    expect(human.code).toBe(0);
    expect(machine.code).toBe(0);

    const changes = lines(human.stdout).filter((line) => line.includes('zone1-0000000400'));
    expect(changes.map((line) => line.split(' ').slice(1).join(' '))).toEqual([
      'zone1-0000000400 REPLICA ks/-80 not-alive',
      'zone1-0000000400 RDONLY ks/-80 not-alive',
      'zone1-0000000400 RDONLY ks/-80 removed',
    ]);
    const revisions = changes.map((line) => BigInt(line.split(' ')[0]));
    expect([...revisions].sort((a, b) => (a < b ? -1 : 1))).toEqual(revisions);

    // The removal came as a change replayed from the resume point, not from a re-list.
    const events = lines(machine.stdout).map((line) => JSON.parse(line) as WatchEvent);
    expect(events.filter((e) => e.alias === 'zone1-0000000400').map((e) => [e.type, e.state, e.snapshot])).toEqual([
      ['REPLICA', 'not-alive', expect.any(Boolean)],
      ['RDONLY', 'not-alive', false],
      ['RDONLY', 'removed', false],
    ]);
  });

  it('watch re-lists when its resume point left the history, and prints only what changed meanwhile', async () => {
    // A second cell-topo over the same data, with a history too short to resume from.
    const forgetful = await startCellTopo({
      endpoints: etcd().endpoints,
      root: cellRoot,
      cell: 'zone1',
      globalAddress: global.address,
      hub: { historyMaxEvents: 2 },
    });
    const relay = await TcpRelay.start(`http://${forgetful.address}`);
    const stop = new AbortController();
    const c = cell.client;
    const tablet = (uid: number, hostname = `db${uid}`) => ({
      tablet: Tablet.fromPartial({ alias: { cell: 'zone1', uid }, hostname, keyspace: 'ks', shard: '-80', type: TabletType.REPLICA }),
    });
    const watch = start(['watch', '--cell-address', relay.url.replace('http://', ''), '--shard', '-80', '--json'], stop.signal);
    const events = (): WatchEvent[] => watch.stdout().split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as WatchEvent);
    try {
      await call(c.createTablet.bind(c), tablet(500));
      await call(c.createTablet.bind(c), tablet(501));
      await call(c.createTablet.bind(c), tablet(503));
      await until('the tablets', () => events().filter((e) => /-000000050[013]$/.test(e.alias)).length === 3);
      const before = events().length;

      relay.cut();
      await until('the watch to notice the disconnect', () => watch.stderr().includes('disconnected'));
      await setType('zone1-500', TabletType.RDONLY);
      await call(c.deleteTablet.bind(c), { alias: 'zone1-501' });
      await call(c.createTablet.bind(c), tablet(502));
      for (const hostname of ['a', 'b', 'c']) {
        await call(c.updateTabletFields.bind(c), { alias: 'zone1-502', hostname, portMap: {}, tags: {}, version: '0' });
      }
      relay.restore();
      await until('the re-list', () => events().length >= before + 3);
      await new Promise((resolve) => setTimeout(resolve, 200)); // nothing else may follow
      expect(watch.stderr()).toContain('(OUT_OF_RANGE); re-listing');
      const after = events().slice(before);
      expect(after.map((e) => [e.alias, e.type, e.state, e.hostname, e.snapshot])).toEqual([
        ['zone1-0000000501', 'REPLICA', 'removed', 'db501', true],
        ['zone1-0000000500', 'RDONLY', 'not-alive', 'db500', true],
        ['zone1-0000000502', 'REPLICA', 'not-alive', 'c', true],
      ]);
      expect(new Set(after.map((e) => e.revision)).size).toBe(1);
    } finally {
      stop.abort();
      await relay.close();
      await call(c.deleteTablet.bind(c), { alias: 'zone1-500' }).catch(() => undefined);
      await call(c.deleteTablet.bind(c), { alias: 'zone1-502' }).catch(() => undefined);
      await call(c.deleteTablet.bind(c), { alias: 'zone1-503' }).catch(() => undefined);
      await forgetful.stop();
    }
    expect((await watch.done).code).toBe(0);
  });

  it('runs as a real process through bin/topoctl', async () => {
    const bin = join(__dirname, '..', '..', '..', 'bin', 'topoctl');
    const child = spawn(bin, ['--help'], { cwd: '/', stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    // `make test` builds dist/ first; after an edit, bin/topoctl rebuilds it and says so.
    const rebuilt = 'topoctl: dist/ is missing or older than the sources; building it (make build)\n';
    expect({ code, stderr: stderr.replace(rebuilt, '') }).toEqual({ code: 0, stderr: '' });
    expect(stdout).toContain('Usage: topoctl [global options] COMMAND');
  }, 30_000);
});
