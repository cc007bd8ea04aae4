import { ConsecutiveBreaker, circuitBreaker, handleWhen, noop } from 'cockatiel';
import { readFileSync } from 'node:fs';
import { Etcd3, isRecoverableError } from 'etcd3';
import type { ICompare, IRequestOp, IResponseOp } from 'etcd3';
import type {
  KeyValue,
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
  /** Keys per range page; default RANGE_PAGE_KEYS. */
  rangePageKeys?: number;
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
 * Keys per range page. With etcd's default --max-request-bytes (1.5 MiB) a value is at most
 * that big; tablet records are ~1-2 KB, so a page is a few MB at most, under the receive
 * limit below. A page that does not fit is halved and read again.
 */
export const RANGE_PAGE_KEYS = 1000;

/**
 * The etcd client's message limits, set rather than left at grpc-js's 4 MiB receive
 * default: answers up to 64 MiB (a watch response carries a whole transaction, a range
 * page up to RANGE_PAGE_KEYS values), requests up to 16 MiB (etcd refuses more than its
 * own --max-request-bytes, 1.5 MiB by default, with a clear error).
 */
export const MAX_RECEIVE_BYTES = 64 * 1024 * 1024;
export const MAX_SEND_BYTES = 16 * 1024 * 1024;

const ZERO = Buffer.from([0]);

/**
 * The etcd plugin's engine, over etcd3's raw gRPC clients. etcd3's retry policy is turned
 * off (a retried transaction could apply twice and report a false conflict); its lock and
 * watcher are not used (see etcd-watch.ts and core/lock.ts).
 */
export class EtcdEngine implements KvEngine {
  readonly name = 'etcd';
  private readonly client: Etcd3;
  private readonly keepAlives: KeepAliveChannel;
  private readonly pageLimit: number;
  private closed = false;

  constructor(options: EtcdEngineOptions) {
    if (options.endpoints.length === 0) {
      throw new TopoError(TopoErrorCode.InvalidArgument, 'etcd endpoints must not be empty');
    }
    const timeoutMs = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    this.pageLimit = options.rangePageKeys ?? RANGE_PAGE_KEYS;
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
        'grpc.max_receive_message_length': MAX_RECEIVE_BYTES,
        'grpc.max_send_message_length': MAX_SEND_BYTES,
      },
    });
    this.keepAlives = new KeepAliveChannel(this.client, timeoutMs);
  }

  /**
   * One etcd range request when `limit` is given or the key is not a prefix; otherwise the
   * whole prefix page by page at the revision of the first page, so a large cell never
   * needs one answer bigger than the client's receive limit.
   */
  async range(key: string, options: RangeOptions = {}): Promise<RangeResult> {
    this.checkOpen();
    if (!options.prefix || options.limit !== undefined) return this.rangePage(key, options, options.limit);
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.rangeAll(key, options);
      } catch (err) {
        // The revision pinned by the first page was compacted before the last one: read
        // again at a newer revision, unless the caller asked for that revision.
        if (options.revision !== undefined || attempt >= 3 || !TopoError.is(err, TopoErrorCode.Compacted)) throw err;
      }
    }
  }

  private async rangeAll(key: string, options: RangeOptions): Promise<RangeResult> {
    const kvs: KeyValue[] = [];
    let revision = options.revision;
    let after = options.after;
    for (;;) {
      const page = await this.rangePage(key, { ...options, revision, after }, this.pageLimit);
      kvs.push(...page.kvs);
      revision ??= page.revision;
      if (!page.more || page.kvs.length === 0) return { kvs, revision: page.revision };
      after = page.kvs[page.kvs.length - 1].key;
    }
  }

  private async rangePage(key: string, options: RangeOptions, limit: number | undefined): Promise<RangeResult> {
    const keyBytes = Buffer.from(key, 'utf8');
    const start = options.after === undefined ? keyBytes : Buffer.concat([Buffer.from(options.after, 'utf8'), ZERO]);
    let pageLimit = limit;
    for (;;) {
      try {
        const response = await this.client.kv.range({
          key: start,
          range_end: options.prefix ? rangeEnd(keyBytes, options.before) : undefined,
          revision: options.revision === undefined ? undefined : options.revision.toString(),
          keys_only: options.keysOnly ?? false,
          limit: pageLimit === undefined ? undefined : String(pageLimit),
        });
        const kvs = response.kvs.map(toKeyValue);
        return { kvs, revision: BigInt(response.header.revision), more: response.more };
      } catch (err) {
        const mapped = fromEtcdError(err, `range ${key}`);
        // A page of unusually large values: halve it rather than fail (one value always fits).
        if (pageLimit !== undefined && pageLimit > 1 && isTooLargeAnswer(mapped)) {
          pageLimit = Math.ceil(pageLimit / 2);
          continue;
        }
        throw mapped;
      }
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

  async alarms(): Promise<string[]> {
    this.checkOpen();
    try {
      const response = await this.client.maintenance.alarm({ action: 'Get', memberID: '0', alarm: 'None' });
      return response.alarms.map((alarm) => `${alarm.alarm.toUpperCase()} on etcd member ${BigInt(alarm.memberID).toString(16)}`);
    } catch (err) {
      throw fromEtcdError(err, 'alarm list');
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

function isTooLargeAnswer(err: unknown): boolean {
  return TopoError.is(err, TopoErrorCode.ResourceExhausted) && err.detail.includes('message limit');
}

/** The end of a prefix range, or `before` when that comes first. */
function rangeEnd(prefix: Buffer, before: string | undefined): Buffer {
  const end = prefixEnd(prefix);
  if (before === undefined) return end;
  const limit = Buffer.from(before, 'utf8');
  return Buffer.compare(limit, end) < 0 ? limit : end;
}
