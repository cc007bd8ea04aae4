import { spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { join } from 'node:path';

/** The pinned grpcurl `make tools` installs; GRPCURL_BIN points at another one. */
export const grpcurlPath =
  process.env.GRPCURL_BIN ?? join(__dirname, '..', '..', '.tools', 'bin', 'grpcurl');

export interface GrpcurlOptions {
  /** Request body as JSON (grpcurl `-d`); an object is serialized. */
  data?: string | object;
  /** Kills grpcurl after this many milliseconds (default 10,000). */
  timeoutMs?: number;
  /** TLS instead of plaintext: grpcurl's `-cacert`, and `-cert`/`-key` for mTLS. */
  tls?: { ca: string; cert?: string; key?: string };
}

export interface GrpcurlResult {
  stdout: string;
  stderr: string;
  /** grpcurl's exit code (a failed RPC exits 64 plus its gRPC status code); null if killed. */
  code: number | null;
  /** True when grpcurl was killed: by the timeout or by `stop()`. */
  killed: boolean;
}

/** A grpcurl still running, typically on a streaming method. */
export interface GrpcurlProcess {
  /** Everything grpcurl printed to stdout so far. */
  stdout(): string;
  /** Resolves with stdout once it matches; rejects if grpcurl exits or time runs out first. */
  waitFor(pattern: string | RegExp, timeoutMs?: number): Promise<string>;
  /** Resolves when grpcurl exits by itself, or is killed. */
  readonly exited: Promise<GrpcurlResult>;
  /** Kills grpcurl (closing its stream) and resolves with what it printed. */
  stop(): Promise<GrpcurlResult>;
}

/**
 * Runs the real grpcurl in plaintext against `address` (`host:port`) and waits for it to
 * exit, as an operator would, with no protoset: all it knows comes from server reflection.
 * `args` are what follows the address (`list`, `describe X`, a method name).
 */
export function grpcurl(
  address: string,
  args: readonly string[],
  options: GrpcurlOptions = {},
): Promise<GrpcurlResult> {
  return startGrpcurl(address, args, options).exited;
}

/** Starts grpcurl like `grpcurl()` and hands back the running process to read as it goes. */
export function startGrpcurl(
  address: string,
  args: readonly string[],
  options: GrpcurlOptions = {},
): GrpcurlProcess {
  assertInstalled();
  const tls = options.tls;
  const flags = tls
    ? ['-cacert', tls.ca, ...(tls.cert ? ['-cert', tls.cert] : []), ...(tls.key ? ['-key', tls.key] : [])]
    : ['-plaintext'];
  if (options.data !== undefined) {
    const body = typeof options.data === 'string' ? options.data : JSON.stringify(options.data);
    flags.push('-d', body);
  }
  const child = spawn(grpcurlPath, [...flags, address, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  let killed = false;
  const outputListeners = new Set<() => void>();
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
    for (const listener of [...outputListeners]) listener();
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  const kill = (): void => {
    killed = true;
    child.kill('SIGKILL');
  };
  const timer = setTimeout(kill, options.timeoutMs ?? 10_000);

  const exited = new Promise<GrpcurlResult>((resolve, reject) => {
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(new Error(`cannot run ${grpcurlPath}: ${err.message}`, { cause: err }));
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      for (const listener of [...outputListeners]) listener();
      resolve({ stdout, stderr, code, killed });
    });
  });
  let running = true;
  const markExited = (): void => {
    running = false;
  };
  exited.then(markExited, markExited);

  const waitFor = (pattern: string | RegExp, timeoutMs = 5_000): Promise<string> =>
    new Promise((resolve, reject) => {
      const matches = (): boolean =>
        typeof pattern === 'string' ? stdout.includes(pattern) : pattern.test(stdout);
      const done = (): void => {
        clearTimeout(deadline);
        outputListeners.delete(check);
      };
      const check = (): void => {
        if (matches()) {
          done();
          resolve(stdout);
        } else if (!running || child.exitCode !== null || child.signalCode !== null) {
          done();
          reject(new Error(`grpcurl exited before printing ${String(pattern)}:\n${stdout}${stderr}`));
        }
      };
      const deadline = setTimeout(() => {
        done();
        reject(new Error(`grpcurl did not print ${String(pattern)} in ${timeoutMs} ms:\n${stdout}${stderr}`));
      }, timeoutMs);
      outputListeners.add(check);
      check();
    });

  return {
    stdout: () => stdout,
    waitFor,
    exited,
    stop: () => {
      if (running) kill();
      return exited;
    },
  };
}

function assertInstalled(): void {
  try {
    accessSync(grpcurlPath, constants.X_OK);
  } catch {
    throw new Error(`grpcurl not found at ${grpcurlPath}: run \`make tools\` (or set GRPCURL_BIN)`);
  }
}
