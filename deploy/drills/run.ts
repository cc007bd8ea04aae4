/**
 * `make drills`: the long form of every fault drill, printing its figures. The short forms
 * run in `make test` (deploy/drills/*.spec.ts). DRILLS=name,name picks some:
 * rolling-kill, quorum-loss, stream-cancel, cell-failure, nospace, big-cell.
 */
import { runBigCellDrill } from './big-cell';
import { runCellFailureDrill } from './cell-failure-drill';
import { runNoSpaceDrill } from './nospace-drill';
import { runQuorumLossDrill } from './quorum-loss-drill';
import { runRollingKillDrill } from './rolling-kill-drill';
import { runStreamCancelDrill } from './stream-cancel-drill';

const log = (line: string): void => console.log(`  ${line}`);

const DRILLS: Record<string, () => Promise<unknown>> = {
  'rolling-kill': () =>
    runRollingKillDrill({ durationMs: 120_000, killEveryMs: 5000, writers: 4, lockWriters: 8, lockDeadlineMs: 10_000, log }),
  'quorum-loss': () => runQuorumLossDrill({ rounds: 10, clientDeadlineMs: 30_000, log }),
  'stream-cancel': () => runStreamCancelDrill({ rounds: 5, tabletWatches: 400, pathWatches: 300, locks: 300, log }),
  'cell-failure': () => runCellFailureDrill({ outageMs: 60_000, log }),
  nospace: () => runNoSpaceDrill({ quotaBytes: 16 * 1024 * 1024, tablets: 200, log }),
  'big-cell': () => runBigCellDrill({ tablets: Number(process.env.DRILL_TABLETS ?? 50_000), bytes: 1400, log }),
};

function printable(value: unknown): unknown {
  return JSON.parse(
    JSON.stringify(value, (_key, v: unknown) => (v instanceof Set ? [...v] : typeof v === 'number' && !Number.isInteger(v) ? Number(v.toFixed(1)) : v)),
  );
}

async function main(): Promise<void> {
  const wanted = process.env.DRILLS ? process.env.DRILLS.split(',') : Object.keys(DRILLS);
  for (const name of wanted) {
    const drill = DRILLS[name];
    if (!drill) throw new Error(`no drill named ${name}; known: ${Object.keys(DRILLS).join(', ')}`);
    console.log(`drill ${name}`);
    const started = Date.now();
    const figures = await drill();
    console.log(JSON.stringify(printable(figures), null, 2));
    console.log(`drill ${name}: ${((Date.now() - started) / 1000).toFixed(0)} s\n`);
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
