import { ConsecutiveBreaker, circuitBreaker, handleWhen, noop } from 'cockatiel';
import { readFileSync } from 'node:fs';
import { Etcd3, isRecoverableError } from 'etcd3';
import type { ICompare, IRequestOp, IResponseOp } from 'etcd3';
import type {
  KvEngine,
  LeaseGrant,
  RangeOptions,
  RangeResult,
  TxnOp,
  TxnRequest,
  TxnResult,
  WatchOptions,
  WatchResponse,
} from '../engine';
import { TopoError, TopoErrorCode } from '../errors';
import { fromEtcdError } from './etcd-errors';
import { KeepAliveChannel } from './etcd-lease';
import { toKeyValue, watchEtcd } from './etcd-watch';
import { prefixEnd } from './key-range';

export interface EtcdEngineOptions {
  /** Client URLs, e.g. ['http://127.0.0.1:2379']. */
  endpoints: string[];
  /** Deadline of every unary request; streams have none. */
  requestTimeoutMs?: number;
  dialTimeoutMs?: number;
  /** TLS: PEM files of the client certificate and key (etcd's --client-cert-auth) and of etcd's CA. */
  tls?: { cert?: string; key?: string; ca?: string };
  /** etcd user/password authentication (etcd exchanges it for a token). */
  auth?: { username: string; password: string };
}

export const DEFAULT_REQUEST_TIMEOUT_MS = 5000;

function etcdCredentials(tls: NonNullable<EtcdEngineOptions['tls']>): { rootCertificate: Buffer; privateKey?: Buffer; certChain?: Buffer } {
  if (!tls.ca) throw new TopoError(TopoErrorCode.InvalidArgument, "etcd TLS needs the CA that signed etcd's certificates");
  return {
    rootCertificate: readFileSync(tls.ca),
    ...(tls.key ? { privateKey: readFileSync(tls.key) } : {}),
    ...(tls.cert ? { certChain: readFileSync(tls.cert) } : {}),
  };
}

/**
 * The etcd plugin's engine, over etcd3's raw gRPC clients. etcd3's retry policy is turned
 * off (a retried transaction could apply twice and report a false conflict); its lock and
 * watcher are not used (see etcd-watch.ts and core/lock.ts).
 */
export class EtcdEngine implements KvEngine {
  readonly name = 'etcd';
  private readonly client: Etcd3;
  private readonly keepAlives: KeepAliveChannel;
  private closed = false;

  constructor(options: EtcdEngineOptions) {
    if (options.endpoints.length === 0) {
      throw new TopoError(TopoErrorCode.InvalidArgument, 'etcd endpoints must not be empty');
    }
    const timeoutMs = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    this.client = new Etcd3({
      hosts: options.endpoints,
      ...(options.tls ? { credentials: etcdCredentials(options.tls) } : {}),
      ...(options.auth ? { auth: options.auth } : {}),
      dialTimeout: options.dialTimeoutMs ?? timeoutMs,
      faultHandling: {
        global: noop,
        // With several members, skip one that keeps failing for a second, then try it again.
        host: () =>
          options.endpoints.length > 1
            ? circuitBreaker(handleWhen(isRecoverableError), { halfOpenAfter: 1000, breaker: new ConsecutiveBreaker(3) })
            : noop,
      },
      defaultCallOptions: (context) => (context.isStream ? {} : { deadline: Date.now() + timeoutMs }),
      grpcOptions: {
        'grpc.keepalive_time_ms': 10_000,
        'grpc.keepalive_timeout_ms': 5_000,
        'grpc.keepalive_permit_without_calls': 1,
      },
    });
    this.keepAlives = new KeepAliveChannel(this.client, timeoutMs);
  }

  async range(key: string, options: RangeOptions = {}): Promise<RangeResult> {
    this.checkOpen();
    const keyBytes = Buffer.from(key, 'utf8');
    try {
      const response = await this.client.kv.range({
        key: keyBytes,
        range_end: options.prefix ? prefixEnd(keyBytes) : undefined,
        revision: options.revision === undefined ? undefined : options.revision.toString(),
        keys_only: options.keysOnly ?? false,
      });
      return { kvs: response.kvs.map(toKeyValue), revision: BigInt(response.header.revision) };
    } catch (err) {
      throw fromEtcdError(err, `range ${key}`);
    }
  }

  async txn(request: TxnRequest): Promise<TxnResult> {
    this.checkOpen();
    try {
      const response = await this.client.kv.txn({
        compare: request.compare.map(
          (c): ICompare =>
            c.field === 'createRevision'
              ? { key: Buffer.from(c.key, 'utf8'), target: 'Create', result: 'Equal', create_revision: c.equals.toString() }
              : { key: Buffer.from(c.key, 'utf8'), target: 'Mod', result: 'Equal', mod_revision: c.equals.toString() },
        ),
        success: request.success.map(toRequestOp),
        failure: (request.failure ?? []).map(toRequestOp),
      });
      return {
        succeeded: response.succeeded,
        revision: BigInt(response.header.revision),
        results: response.responses.map(fromResponseOp),
      };
    } catch (err) {
      throw fromEtcdError(err, 'txn');
    }
  }

  watch(key: string, options: WatchOptions = {}): AsyncIterable<WatchResponse> {
    this.checkOpen();
    return watchEtcd(this.client, key, options, async () => (await this.range(key, { keysOnly: true })).revision);
  }

  async leaseGrant(ttlSeconds: number): Promise<LeaseGrant> {
    this.checkOpen();
    try {
      const response = await this.client.leaseClient.leaseGrant({ TTL: ttlSeconds });
      return { id: BigInt(response.ID), ttlSeconds: Number(response.TTL) };
    } catch (err) {
      throw fromEtcdError(err, 'lease grant');
    }
  }

  async leaseKeepAlive(id: bigint): Promise<number> {
    this.checkOpen();
    try {
      return await this.keepAlives.keepAlive(id);
    } catch (err) {
      throw fromEtcdError(err, `lease ${id.toString(16)} keepalive`);
    }
  }

  async leaseTimeToLive(id: bigint): Promise<number> {
    this.checkOpen();
    try {
      const response = await this.client.leaseClient.leaseTimeToLive({ ID: id.toString() });
      return Number(response.TTL);
    } catch (err) {
      throw fromEtcdError(err, `lease ${id.toString(16)} ttl`);
    }
  }

  async leaseRevoke(id: bigint): Promise<void> {
    this.checkOpen();
    try {
      await this.client.leaseClient.leaseRevoke({ ID: id.toString() });
    } catch (err) {
      const mapped = fromEtcdError(err, `lease ${id.toString(16)} revoke`);
      if (TopoError.is(mapped, TopoErrorCode.NoNode)) return;
      throw mapped;
    }
  }

  async compact(revision: bigint): Promise<void> {
    this.checkOpen();
    try {
      await this.client.kv.compact({ revision: revision.toString(), physical: true });
    } catch (err) {
      throw fromEtcdError(err, `compact ${revision}`);
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.keepAlives.close();
    this.client.close();
  }

  private checkOpen(): void {
    if (this.closed) throw new TopoError(TopoErrorCode.Unavailable, 'etcd engine is closed');
  }
}

function toRequestOp(op: TxnOp): IRequestOp {
  const key = Buffer.from(op.key, 'utf8');
  switch (op.type) {
    case 'put':
      return { request_put: { key, value: Buffer.from(op.value), lease: op.lease ? op.lease.toString() : undefined } };
    case 'delete':
      return { request_delete_range: { key, range_end: op.prefix ? prefixEnd(key) : undefined, prev_kv: true } };
    case 'get':
      return { request_range: { key, range_end: op.prefix ? prefixEnd(key) : undefined } };
  }
}

function fromResponseOp(response: IResponseOp): { kvs: ReturnType<typeof toKeyValue>[] } {
  if (response.response_range) return { kvs: response.response_range.kvs.map(toKeyValue) };
  if (response.response_delete_range) return { kvs: response.response_delete_range.prev_kvs.map(toKeyValue) };
  return { kvs: [] };
}
