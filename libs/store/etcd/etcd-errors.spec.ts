import { castGrpcError } from 'etcd3/lib/errors';
import { TopoError, TopoErrorCode } from '../errors';
import { fromEtcdError } from './etcd-errors';

/** An error as grpc-js hands it to etcd3, cast the way etcd3 casts it. */
function etcdError(code: number, name: string, details: string): Error {
  const err = Object.assign(new Error(`${code} ${name}: ${details}`), { code, details });
  return castGrpcError(err);
}

const mapped = (err: unknown): TopoError => {
  const result = fromEtcdError(err, 'txn');
  if (!(result instanceof TopoError)) throw new Error(`not mapped: ${String(err)}`);
  return result;
};

describe('etcd error classes', () => {
  it.each([
    [8, 'RESOURCE_EXHAUSTED', 'etcdserver: mvcc: database space exceeded', TopoErrorCode.NoSpace, /NOSPACE/],
    [8, 'RESOURCE_EXHAUSTED', 'etcdserver: too many requests', TopoErrorCode.ResourceExhausted, /overloaded/],
    [3, 'INVALID_ARGUMENT', 'etcdserver: request is too large', TopoErrorCode.ResourceExhausted, /max-request-bytes/],
    [3, 'INVALID_ARGUMENT', 'etcdserver: too many operations in txn request', TopoErrorCode.ResourceExhausted, /max-txn-ops/],
    [11, 'OUT_OF_RANGE', 'etcdserver: mvcc: required revision has been compacted', TopoErrorCode.Compacted, /compacted/],
    [14, 'UNAVAILABLE', 'etcdserver: leader changed', TopoErrorCode.Unavailable, /leader changed/],
    [14, 'UNAVAILABLE', 'etcdserver: no leader', TopoErrorCode.Unavailable, /no leader/],
    [14, 'UNAVAILABLE', 'etcdserver: request timed out, possibly due to previous leader failure', TopoErrorCode.Unavailable, /in time/],
    [9, 'FAILED_PRECONDITION', 'etcdserver: not leader', TopoErrorCode.Unavailable, /not the leader/],
    [15, 'DATA_LOSS', 'etcdserver: corrupt cluster', TopoErrorCode.Unavailable, /CORRUPT/],
    [7, 'PERMISSION_DENIED', 'etcdserver: permission denied', TopoErrorCode.Unavailable, /credentials/],
    [8, 'RESOURCE_EXHAUSTED', 'Received message larger than max (5242880 vs. 4194304)', TopoErrorCode.ResourceExhausted, /message limit/],
  ])('%i %s "%s" is %s with the cause named', (code, name, details, expected, cause) => {
    const error = mapped(etcdError(code, name, details));
    expect(error.code).toBe(expected);
    expect(error.detail).toMatch(cause);
    expect(error.detail).toContain(details);
  });

  it('maps an etcd error of a class it does not know by its gRPC code, never leaving it unmapped', () => {
    expect(mapped(etcdError(13, 'INTERNAL', 'etcdserver: something new')).code).toBe(TopoErrorCode.Unavailable);
    expect(mapped(etcdError(8, 'RESOURCE_EXHAUSTED', 'etcdserver: some new limit')).code).toBe(TopoErrorCode.ResourceExhausted);
    expect(mapped(etcdError(2, 'UNKNOWN', 'stream reset')).code).toBe(TopoErrorCode.Unavailable);
  });

  it('leaves errors that did not come from etcd alone', () => {
    const bug = new TypeError('x is undefined');
    expect(fromEtcdError(bug, 'txn')).toBe(bug);
  });
});
