import { parseArgs } from 'node:util';
import { EtcdCluster } from './etcd-cluster';
import type { EtcdClusterOptions } from './cluster-options';

const USAGE = `Usage: ts-node deploy/etcd/cli.ts [options]

Starts a local etcd cluster, prints {"endpoints":[...],"dataDir":"..."} as one JSON line
on stdout, and runs until SIGINT or SIGTERM, then stops every member.

  --members 1|3          number of members (default 1)
  --data-dir DIR         persistent data dir, kept on exit (default: a temp dir, removed)
  --client-port PORT     fixed client port; repeat once per member (default: free ports)
  --log-file FILE        one log file for all members (default: inside the data dir)
  --help                 show this text

The etcd binary is ETCD_BIN or 'etcd' on PATH.`;

const MEMBER_CHECK_INTERVAL_MS = 1_000;

function parseOptions(argv: string[]): EtcdClusterOptions | undefined {
  const { values } = parseArgs({
    args: argv,
    options: {
      members: { type: 'string', default: '1' },
      'data-dir': { type: 'string' },
      'client-port': { type: 'string', multiple: true },
      'log-file': { type: 'string' },
      help: { type: 'boolean', default: false },
    },
    strict: true,
  });
  if (values.help) return undefined;
  const members = Number(values.members);
  if (members !== 1 && members !== 3) {
    throw new Error(`--members must be 1 or 3, got ${values.members}`);
  }
  const dataDir = values['data-dir'];
  return {
    members,
    dataDir,
    // Naming a data dir means wanting it back next time.
    keepData: dataDir !== undefined,
    clientPorts: values['client-port']?.map(Number),
    logFile: values['log-file'],
  };
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  if (options === undefined) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const cluster = await EtcdCluster.start(options);
  let exitCode = 0;
  const shutdown = (): void => {
    clearInterval(memberCheck);
    cluster.stop().then(
      () => process.exit(exitCode),
      (error: unknown) => {
        process.stderr.write(`etcd stop failed: ${String(error)}\n`);
        process.exit(1);
      },
    );
  };
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
  // A member dying on its own is fatal for `make up`: say so and exit non-zero.
  const memberCheck = setInterval(() => {
    const dead = cluster.members.filter((member) => !member.running);
    if (dead.length === 0) return;
    process.stderr.write(
      `etcd member(s) exited: ${dead.map((m) => `${m.name} (log: ${m.logFile})`).join(', ')}\n`,
    );
    exitCode = 1;
    shutdown();
  }, MEMBER_CHECK_INTERVAL_MS);
  const ready = { endpoints: cluster.endpoints, dataDir: cluster.dataDir };
  process.stdout.write(`${JSON.stringify(ready)}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
