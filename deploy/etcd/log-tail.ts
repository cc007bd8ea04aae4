import { closeSync, fstatSync, openSync, readSync } from 'node:fs';

/** Starts the line the harness writes before each launch, so a tail can find the run. */
export const RUN_MARKER = '# topo-etcd launch ';

const TAIL_BYTES = 64 * 1024;
const HEAD_LINES = 3;
const TAIL_LINES = 15;

/**
 * What the latest launch in a log file said: all of it when short, else its first lines
 * (where etcd reports bad flags, before its usage text) and its last lines (where a
 * running member reports why it died).
 */
export function readLogTail(path: string): string {
  const text = readEnd(path);
  if (text === undefined) return `(no log at ${path})`;
  const lines = text.trimEnd().split('\n');
  let runStart = lines.length - 1;
  while (runStart >= 0 && !lines[runStart].startsWith(RUN_MARKER)) runStart--;
  const run = lines.slice(runStart + 1);
  if (run.length === 0) return `(log at ${path} has no output from the latest launch)`;
  if (run.length <= HEAD_LINES + TAIL_LINES) return run.join('\n');
  return [
    ...run.slice(0, HEAD_LINES),
    `... (${run.length - HEAD_LINES - TAIL_LINES} lines skipped, full log: ${path})`,
    ...run.slice(-TAIL_LINES),
  ].join('\n');
}

function readEnd(path: string): string | undefined {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return undefined;
  }
  try {
    const size = fstatSync(fd).size;
    const length = Math.min(size, TAIL_BYTES);
    const buffer = Buffer.alloc(length);
    readSync(fd, buffer, 0, length, size - length);
    return buffer.toString('utf8');
  } finally {
    closeSync(fd);
  }
}
