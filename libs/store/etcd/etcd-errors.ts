import { TopoError, TopoErrorCode } from '../errors';

// etcd names its errors only in messages; these are the ones whose meaning we rely on.
const BY_MESSAGE: Array<[string, TopoErrorCode]> = [
  ['required revision has been compacted', TopoErrorCode.Compacted],
  ['required revision is a future revision', TopoErrorCode.InvalidArgument],
  ['requested lease not found', TopoErrorCode.NoNode],
  ['duplicate key given in txn request', TopoErrorCode.InvalidArgument],
  ['request is too large', TopoErrorCode.ResourceExhausted],
  ['too many operations in txn request', TopoErrorCode.ResourceExhausted],
  ['key is not provided', TopoErrorCode.InvalidArgument],
  ['no leader', TopoErrorCode.Unavailable],
  ['leader changed', TopoErrorCode.Unavailable],
  ['request timed out', TopoErrorCode.Unavailable],
];

// gRPC status codes that mean "etcd could not be reached or did not answer in time".
const UNREACHABLE_CODES = new Set([1, 4, 14]);

/** Maps an error from the etcd client to a TopoError; anything unrecognised passes through. */
export function fromEtcdError(err: unknown, what: string): unknown {
  if (err instanceof TopoError) return err;
  if (!(err instanceof Error)) return err;
  for (const [text, code] of BY_MESSAGE) {
    if (err.message.includes(text)) return new TopoError(code, `${what}: ${err.message}`, { cause: err });
  }
  const code = (err as { code?: unknown }).code;
  const name = err.constructor.name;
  if (
    (typeof code === 'number' && UNREACHABLE_CODES.has(code)) ||
    /Unavailable|DeadlineExceeded|BrokenCircuit|Cancelled|ClientClosed/.test(name) ||
    /No connection established|connect ECONNREFUSED|Deadline exceeded/i.test(err.message)
  ) {
    return new TopoError(TopoErrorCode.Unavailable, `${what}: etcd unavailable: ${err.message}`, { cause: err });
  }
  return err;
}
