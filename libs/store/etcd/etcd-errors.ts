import { TopoError, TopoErrorCode } from '../errors';

interface ErrorClass {
  /** Text etcd puts in the message (etcd names its errors only in messages). */
  text: string;
  code: TopoErrorCode;
  /** What the client is told, before etcd's own words. */
  cause: string;
}

/**
 * Every etcd server error class (etcd's api/v3rpc/rpctypes), with the code etcd documents
 * for it mapped onto the store's codes. Order matters where one text contains another.
 * Errors about the service's own etcd credentials or etcd's health are UNAVAILABLE: the
 * client did nothing wrong and may retry elsewhere or later.
 */
const CLASSES: ErrorClass[] = [
  {
    text: 'database space exceeded',
    code: TopoErrorCode.NoSpace,
    cause:
      'etcd is out of space (NOSPACE alarm): writes are refused until an operator compacts, defragments and disarms; reads and deletes still work',
  },
  { text: 'too many requests', code: TopoErrorCode.ResourceExhausted, cause: 'etcd is overloaded (too many requests)' },
  { text: 'request is too large', code: TopoErrorCode.ResourceExhausted, cause: "request larger than etcd's --max-request-bytes" },
  {
    text: 'larger than max',
    code: TopoErrorCode.ResourceExhausted,
    cause: "etcd's answer is larger than the client's message limit",
  },
  { text: 'too many operations in txn request', code: TopoErrorCode.ResourceExhausted, cause: "transaction has more operations than etcd's --max-txn-ops" },
  { text: 'required revision has been compacted', code: TopoErrorCode.Compacted, cause: 'revision compacted away in etcd' },
  { text: 'required revision is a future revision', code: TopoErrorCode.InvalidArgument, cause: 'revision is newer than etcd has' },
  { text: 'requested lease not found', code: TopoErrorCode.NoNode, cause: 'lease not found' },
  { text: 'lease already exists', code: TopoErrorCode.NodeExists, cause: 'lease already exists' },
  { text: 'too large lease TTL', code: TopoErrorCode.InvalidArgument, cause: "lease TTL above etcd's maximum" },
  { text: 'duplicate key given in txn request', code: TopoErrorCode.InvalidArgument, cause: 'a transaction writes one key twice' },
  { text: 'key is not provided', code: TopoErrorCode.InvalidArgument, cause: 'empty key' },
  { text: 'value is provided', code: TopoErrorCode.InvalidArgument, cause: 'value given with ignore_value' },
  { text: 'lease is provided', code: TopoErrorCode.InvalidArgument, cause: 'lease given with ignore_lease' },
  { text: 'no leader', code: TopoErrorCode.Unavailable, cause: 'etcd has no leader (quorum lost or election in progress)' },
  { text: 'not leader', code: TopoErrorCode.Unavailable, cause: 'etcd member is not the leader' },
  { text: 'leader changed', code: TopoErrorCode.Unavailable, cause: 'etcd leader changed during the request; it may or may not have applied' },
  { text: 'request timed out', code: TopoErrorCode.Unavailable, cause: 'etcd did not commit the request in time' },
  { text: 'not capable', code: TopoErrorCode.Unavailable, cause: 'etcd cluster version does not support the request' },
  { text: 'server stopped', code: TopoErrorCode.Unavailable, cause: 'etcd member is stopping' },
  { text: 'unhealthy cluster', code: TopoErrorCode.Unavailable, cause: 'etcd cluster is unhealthy' },
  { text: 'corrupt cluster', code: TopoErrorCode.Unavailable, cause: 'etcd reports a corrupt cluster (CORRUPT alarm)' },
  { text: 'not supported for learner', code: TopoErrorCode.Unavailable, cause: 'etcd member is a learner' },
  { text: 'cluster version is not available', code: TopoErrorCode.Unavailable, cause: 'etcd cluster version is not decided yet' },
  { text: 'permission denied', code: TopoErrorCode.Unavailable, cause: "etcd refused this service's credentials (permission denied)" },
  { text: 'invalid auth token', code: TopoErrorCode.Unavailable, cause: "etcd refused this service's auth token" },
  { text: 'authentication failed', code: TopoErrorCode.Unavailable, cause: "etcd refused this service's credentials" },
  { text: 'user name is empty', code: TopoErrorCode.Unavailable, cause: "etcd refused this service's credentials" },
  { text: 'authentication is not enabled', code: TopoErrorCode.Unavailable, cause: 'etcd has auth disabled but the service uses credentials' },
];

/** gRPC codes (by number) for errors etcd or its client report without a known text. */
const BY_GRPC_CODE: Record<number, { code: TopoErrorCode; cause: string }> = {
  1: { code: TopoErrorCode.Unavailable, cause: 'etcd call cancelled' },
  2: { code: TopoErrorCode.Unavailable, cause: 'etcd failed the request' },
  3: { code: TopoErrorCode.InvalidArgument, cause: 'etcd rejected the request' },
  4: { code: TopoErrorCode.Unavailable, cause: 'etcd did not answer in time' },
  5: { code: TopoErrorCode.NoNode, cause: 'not found in etcd' },
  6: { code: TopoErrorCode.NodeExists, cause: 'already exists in etcd' },
  7: { code: TopoErrorCode.Unavailable, cause: "etcd refused this service's credentials" },
  8: { code: TopoErrorCode.ResourceExhausted, cause: 'etcd is out of a resource' },
  9: { code: TopoErrorCode.Unavailable, cause: 'etcd refused the request in its current state' },
  10: { code: TopoErrorCode.Unavailable, cause: 'etcd aborted the request' },
  11: { code: TopoErrorCode.InvalidArgument, cause: 'value out of the range etcd accepts' },
  12: { code: TopoErrorCode.NoImplementation, cause: 'etcd does not implement the request' },
  13: { code: TopoErrorCode.Unavailable, cause: 'etcd failed the request' },
  14: { code: TopoErrorCode.Unavailable, cause: 'etcd unavailable' },
  15: { code: TopoErrorCode.Unavailable, cause: 'etcd reports data loss' },
  16: { code: TopoErrorCode.Unavailable, cause: "etcd refused this service's credentials" },
};

/** grpc-js messages start with "<code> <NAME>: ". */
const GRPC_PREFIX = /^(\d{1,2}) [A-Z_]+: /;

const UNREACHABLE_NAME = /Unavailable|DeadlineExceeded|BrokenCircuit|Cancelled|ClientClosed/;
const UNREACHABLE_TEXT = /No connection established|connect ECONNREFUSED|Deadline exceeded/i;

/**
 * Maps an error from the etcd client to a TopoError whose message names the cause, so no
 * etcd error reaches a client as INTERNAL. Errors that did not come from etcd or its client
 * (programming errors) pass through unchanged.
 */
export function fromEtcdError(err: unknown, what: string): unknown {
  if (err instanceof TopoError) return err;
  if (!(err instanceof Error)) return err;
  const message = err.message;
  for (const known of CLASSES) {
    if (message.includes(known.text)) return new TopoError(known.code, `${what}: ${known.cause}: ${message}`, { cause: err });
  }
  const name = err.constructor.name;
  if (UNREACHABLE_NAME.test(name) || UNREACHABLE_TEXT.test(message)) {
    return new TopoError(TopoErrorCode.Unavailable, `${what}: etcd unavailable: ${message}`, { cause: err });
  }
  const numeric = (err as { code?: unknown }).code;
  const grpcCode = typeof numeric === 'number' ? numeric : Number(GRPC_PREFIX.exec(message)?.[1] ?? NaN);
  const byCode = BY_GRPC_CODE[grpcCode];
  if (byCode) return new TopoError(byCode.code, `${what}: ${byCode.cause}: ${message}`, { cause: err });
  if (/^(GRPC|Etcd)/.test(name) || message.includes('etcdserver:')) {
    return new TopoError(TopoErrorCode.Unavailable, `${what}: etcd failed the request: ${message}`, { cause: err });
  }
  return err;
}
