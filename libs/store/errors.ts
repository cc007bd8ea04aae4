/**
 * The one error type of the topology store. Every backend throws it, every layer above
 * passes it through, and the server maps `code` to a gRPC status in one place.
 */
export enum TopoErrorCode {
  NoNode = 'NoNode',
  NodeExists = 'NodeExists',
  BadVersion = 'BadVersion',
  NodeNotEmpty = 'NodeNotEmpty',
  Timeout = 'Timeout',
  Interrupted = 'Interrupted',
  ResourceExhausted = 'ResourceExhausted',
  /**
   * The backend refuses writes that add data (etcd's NOSPACE alarm) until an operator frees
   * space; reads and deletes still work.
   */
  NoSpace = 'NoSpace',
  NoImplementation = 'NoImplementation',
  /** A fenced write whose lock is no longer held by the writer. */
  LockLost = 'LockLost',
  /** Bad input refused before it reached the backend. */
  InvalidArgument = 'InvalidArgument',
  /** The backend cannot be reached. */
  Unavailable = 'Unavailable',
  /** A requested revision is older than the retained history (etcd compaction). */
  Compacted = 'Compacted',
}

export class TopoError extends Error {
  override readonly name = 'TopoError';

  constructor(
    readonly code: TopoErrorCode,
    /** The message without the code, for callers that report the code separately. */
    readonly detail: string,
    options?: { cause?: unknown },
  ) {
    super(`${code}: ${detail}`, options);
  }

  static is(err: unknown, code?: TopoErrorCode): err is TopoError {
    return err instanceof TopoError && (code === undefined || err.code === code);
  }
}

export const noNode = (path: string): TopoError => new TopoError(TopoErrorCode.NoNode, `node doesn't exist: ${path}`);
export const nodeExists = (path: string): TopoError => new TopoError(TopoErrorCode.NodeExists, `node already exists: ${path}`);
export const badVersion = (path: string): TopoError => new TopoError(TopoErrorCode.BadVersion, `bad node version: ${path}`);
export const interrupted = (what: string): TopoError => new TopoError(TopoErrorCode.Interrupted, `interrupted: ${what}`);
export const invalidArgument = (message: string): TopoError => new TopoError(TopoErrorCode.InvalidArgument, message);
