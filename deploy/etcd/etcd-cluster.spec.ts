import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { Etcd3 } from 'etcd3';
import { probeHealth } from './health-probe';
import { EtcdCluster, EtcdMemberExitedError, MISSING_ETCD_HINT, type EtcdClusterOptions } from './index';
import { useEtcdCluster } from './jest';

async function withClient<T>(hosts: string[], use: (client: Etcd3) => PromiseLike<T>): Promise<T> {
  const client = new Etcd3({ hosts });
  try {
    return await use(client);
  } finally {
    client.close();
  }
}

async function withCluster(
  options: EtcdClusterOptions,
  use: (cluster: EtcdCluster) => Promise<void>,
): Promise<void> {
  const cluster = await EtcdCluster.start(options);
  try {
    await use(cluster);
  } finally {
    await cluster.stop();
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function eventually<T>(read: () => Promise<T>, expected: T, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (value === expected || Date.now() > deadline) return value;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function pids(cluster: EtcdCluster): number[] {
  return cluster.members.map((member) => member.pid).filter((pid): pid is number => pid !== undefined);
}

describe('single member cluster from useEtcdCluster', () => {
  const etcd = useEtcdCluster();

  it('serves a put and a get on a loopback client URL', async () => {
    expect(etcd().endpoints).toEqual([expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+$/)]);
    await withClient(etcd().endpoints, async (client) => {
      await client.put('greeting').value('hello');
      expect(await client.get('greeting').string()).toBe('hello');
    });
  });
});

describe('EtcdCluster', () => {
  it('keeps a write readable from two members after the third is killed, and the killed member catches up on restart', async () => {
    await withCluster({ members: 3 }, async (cluster) => {
      const [victim, ...survivors] = cluster.members;
      await withClient(cluster.endpoints, (client) => client.put('before').value('1'));

      const victimUrl = victim.clientUrl;
      await victim.kill();
      expect(victim.running).toBe(false);
      await cluster.waitHealthy(5_000);

      for (const survivor of survivors) {
        await withClient([survivor.clientUrl], async (client) => {
          expect(await client.get('before').string()).toBe('1');
        });
      }
      await withClient([survivors[0].clientUrl], (client) => client.put('while-down').value('2'));

      await victim.restart();
      expect(victim.running).toBe(true);
      expect(victim.clientUrl).toBe(victimUrl);
      // A serializable read is answered from the member's own store, so it proves catch-up.
      const localRead = (): Promise<string | null> =>
        withClient([victim.clientUrl], (client) => client.get('while-down').serializable(true).string());
      expect(await eventually(localRead, '2', 5_000)).toBe('2');
    });
  });

  it('keeps data written before a kill when a single member restarts on the same port', async () => {
    await withCluster({}, async (cluster) => {
      const [member] = cluster.members;
      await withClient(cluster.endpoints, (client) => client.put('durable').value('yes'));
      const pidBefore = member.pid;

      await member.kill();
      expect(member.pid).toBeUndefined();
      await member.restart();

      expect(member.pid).toBeDefined();
      expect(member.pid).not.toBe(pidBefore);
      expect(member.clientUrl).toBe(cluster.endpoints[0]);
      await withClient(cluster.endpoints, async (client) => {
        expect(await client.get('durable').string()).toBe('yes');
      });
    });
  });

  it('makes requests to a paused member time out and answers them after resume', async () => {
    await withCluster({}, async (cluster) => {
      const [member] = cluster.members;
      // Two clients: the timed-out one trips etcd3's circuit breaker for its host.
      await withClient(cluster.endpoints, (patient) =>
        withClient(cluster.endpoints, async (hasty) => {
          await patient.put('paused').value('later');
          expect(await hasty.get('paused').string()).toBe('later');

          member.pause();
          let answered = false;
          const pending = patient
            .get('paused')
            .string()
            .then((value) => {
              answered = true;
              return value;
            });
          await expect(
            hasty.get('paused').options({ deadline: Date.now() + 300 }).string(),
          ).rejects.toThrow(/deadline/i);
          expect(answered).toBe(false);

          member.resume();
          expect(await pending).toBe('later');
        }),
      );
    });
  });

  it('stop ends every member, a paused one included, without waiting out a leader hand-off, and removes the data dir', async () => {
    const cluster = await EtcdCluster.start({ members: 3 });
    const started = pids(cluster);
    expect(started).toHaveLength(3);
    expect(existsSync(cluster.dataDir)).toBe(true);
    cluster.members[1].pause();

    const begin = Date.now();
    await cluster.stop();
    // A leader handing off to a stopping or paused follower would block for about 6 s.
    expect(Date.now() - begin).toBeLessThan(5_000);

    expect(started.filter(isAlive)).toEqual([]);
    expect(cluster.members.map((member) => member.running)).toEqual([false, false, false]);
    expect(existsSync(cluster.dataDir)).toBe(false);
    await expect(cluster.stop()).resolves.toBeUndefined();
  });

  it('brings a kept three-member data dir back on the same ports with its data', async () => {
    const dataDir = join(mkdtempSync(join(tmpdir(), 'topo-etcd-spec-')), 'kept');
    try {
      const first = await EtcdCluster.start({ members: 3, dataDir, keepData: true });
      await withClient(first.endpoints, (client) => client.put('kept').value('across restarts'));
      await first.stop();
      expect(existsSync(join(dataDir, 'etcd-0'))).toBe(true);

      await withCluster({ members: 3, dataDir, keepData: true }, async (second) => {
        expect(second.endpoints).toEqual(first.endpoints);
        await withClient(second.endpoints, async (client) => {
          expect(await client.get('kept').string()).toBe('across restarts');
        });
      });
    } finally {
      rmSync(join(dataDir, '..'), { recursive: true, force: true });
    }
  });

  it('fails the start with the last log lines when a member exits early', async () => {
    const start = EtcdCluster.start({ extraFlags: ['--no-such-flag'] });
    await expect(start).rejects.toBeInstanceOf(EtcdMemberExitedError);
    await expect(start).rejects.toThrow(/flag provided but not defined: -no-such-flag/);
  });

  it('fails the start instead of moving elsewhere when a fixed client port is taken', async () => {
    const blocker = await listenOnFreePort();
    try {
      const port = (blocker.address() as { port: number }).port;
      await expect(EtcdCluster.start({ clientPorts: [port] })).rejects.toThrow(
        new RegExp(`127\\.0\\.0\\.1:${port}: bind: address already in use`),
      );
    } finally {
      blocker.close();
    }
  });

  it('names the package to install when the etcd binary is missing', async () => {
    await expect(EtcdCluster.start({ etcdBinary: '/nonexistent/etcd' })).rejects.toThrow(
      MISSING_ETCD_HINT,
    );
    expect(MISSING_ETCD_HINT).toBe(
      "install Debian's `etcd-server` package (`apt-get install etcd-server`) or set ETCD_BIN",
    );
  });
});

describe('etcd CLI', () => {
  it('prints the endpoints as one JSON line, serves them, and stops etcd on SIGTERM', async () => {
    const cli = spawn(
      process.execPath,
      ['-r', 'ts-node/register/transpile-only', join(__dirname, 'cli.ts'), '--members', '1'],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    const exited = new Promise<number | null>((resolve) => cli.once('exit', (code) => resolve(code)));
    try {
      const lines = createInterface({ input: cli.stdout });
      const firstLine = await new Promise<string>((resolve) => lines.once('line', resolve));
      const { endpoints, dataDir } = JSON.parse(firstLine) as { endpoints: string[]; dataDir: string };
      expect(endpoints).toHaveLength(1);
      expect(await probeHealth(endpoints[0], 1_000)).toBe(true);

      cli.kill('SIGTERM');
      expect(await exited).toBe(0);
      expect(await probeHealth(endpoints[0], 1_000)).toBe(false);
      expect(existsSync(dataDir)).toBe(false);
    } finally {
      cli.kill('SIGKILL');
    }
  });
});

function listenOnFreePort(): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen({ port: 0, host: '127.0.0.1' }, () => resolve(server));
  });
}
