/** Where topoctl writes and what stops it: the process in a shell, plain buffers in tests. */
export interface Writer {
  write(chunk: string | Uint8Array): unknown;
}

export interface CliIo {
  stdout: Writer;
  stderr: Writer;
  /** Ends `watch` and cancels calls in flight: Ctrl-C in a shell, an AbortController in tests. */
  signal?: AbortSignal;
  /** Read for defaults such as TOPO_GLOBAL_ADDRESS; process.env when omitted. */
  env?: Record<string, string | undefined>;
}
