import type { CliIo } from './cli-io';
import { CommandContext, UsageError } from './command';
import { parseCommandLine } from './command-line';
import { COMMANDS } from './commands';
import { settingsOf } from './global-options';
import { errorJson, describeError } from './grpc-errors';
import { versionInfo } from './version';
import { Output } from './output';
import { TopoClients } from './topo-clients';

export type { CliIo, Writer } from './cli-io';

export const EXIT_OK = 0;
/** A call failed (the gRPC code is printed), or a checked service is not serving. */
export const EXIT_FAILED = 1;
export const EXIT_USAGE = 2;

/**
 * Runs topoctl with `argv` (without node and the script) and resolves with its exit code.
 * Never throws and never prints a stack trace: errors become `error: CODE: message`.
 */
export async function run(argv: string[], io: CliIo): Promise<number> {
  // Known before parsing, so that even a usage error is reported as JSON.
  const json = argv.includes('--json');
  let invocation;
  try {
    invocation = parseCommandLine(argv, COMMANDS);
  } catch (err) {
    return usageFailure(err, io, '', json);
  }
  if (invocation.kind === 'help') {
    io.stdout.write(invocation.text);
    return EXIT_OK;
  }
  if (invocation.kind === 'version') {
    const version = versionInfo();
    if (json) io.stdout.write(`${JSON.stringify(version, null, 2)}\n`);
    else io.stdout.write(`topoctl ${version.version}${version.commit ? ` (${version.commit})` : ''} node ${version.node}\n`);
    return EXIT_OK;
  }
  const { command, args, values, help } = invocation;
  let settings;
  try {
    settings = settingsOf(values, io.env ?? process.env);
  } catch (err) {
    return usageFailure(err, io, help, json);
  }
  const signal = io.signal ?? new AbortController().signal;
  const out = new Output(io, settings.json);
  const topo = new TopoClients(settings, signal);
  try {
    return (await command.run(new CommandContext(args, values, settings, topo, out, signal))) ?? EXIT_OK;
  } catch (err) {
    if (err instanceof UsageError) return usageFailure(err, io, help, settings.json);
    if (settings.json) io.stderr.write(`${JSON.stringify({ error: errorJson(err, EXIT_FAILED) })}\n`);
    else io.stderr.write(`error: ${describeError(err)}\n`);
    return EXIT_FAILED;
  } finally {
    topo.close();
  }
}

function usageFailure(err: unknown, io: CliIo, fallbackHelp: string, json: boolean): number {
  const code = err instanceof UsageError ? EXIT_USAGE : EXIT_FAILED;
  if (json) {
    io.stderr.write(`${JSON.stringify({ error: errorJson(err, code) })}\n`);
    return code;
  }
  const help = err instanceof UsageError && err.help !== '' ? err.help : fallbackHelp;
  io.stderr.write(`error: ${describeError(err)}\n${help === '' ? '' : `\n${help}`}`);
  return code;
}

/** The shell entry point: Ctrl-C stops a watch (exit 0) or cancels the call in flight. */
async function main(): Promise<void> {
  const controller = new AbortController();
  // A second Ctrl-C gets Node's default: exit at once.
  process.once('SIGINT', () => controller.abort());
  process.once('SIGTERM', () => controller.abort());
  // `topoctl ... | head` closes stdout early: end quietly rather than with a stack trace.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    process.exit(err.code === 'EPIPE' ? (process.exitCode ?? EXIT_OK) : EXIT_FAILED);
  });
  process.exitCode = await run(process.argv.slice(2), {
    stdout: process.stdout,
    stderr: process.stderr,
    signal: controller.signal,
    env: process.env,
  });
}

if (require.main === module) void main();
