/**
 * Paged list RPCs (`page_size`, `page_token`, `next_page_token`), as Google's API rules
 * (AIP-158) and Kubernetes' continue tokens do them: every page of one listing is read at
 * the revision of its first page, so the pages together are one consistent state; a token
 * is bound to the listing it came from; a token whose revision was compacted is
 * OUT_OF_RANGE (list again from the start).
 */
import type { KVInfo, Store } from '../store';
import { invalidArgument } from './errors';

/** Items per page when the caller asks for 0 or for more. */
export const MAX_PAGE_SIZE = 1000;
/** A page stops once its items reach this many bytes, so no response nears 1 MiB. */
export const MAX_PAGE_BYTES = 768 * 1024;
/** Files read per store page while filling a page. */
const READ_BATCH = 250;

export interface PageCursor {
  /** The revision the listing is read at. */
  revision: bigint;
  /** The last path the previous page covered. */
  after: string;
}

interface TokenJson {
  /** What the token lists: a token is refused by any other listing. */
  s: string;
  r: string;
  a: string;
}

/** The page size to serve: 0 and anything above the cap are the cap. */
export function pageSizeOf(requested: number): number {
  if (!Number.isInteger(requested) || requested < 0) throw invalidArgument('page_size', `${requested} must be >= 0`);
  return requested === 0 || requested > MAX_PAGE_SIZE ? MAX_PAGE_SIZE : requested;
}

export function encodePageToken(scope: string, cursor: PageCursor): string {
  const json: TokenJson = { s: scope, r: cursor.revision.toString(), a: cursor.after };
  return Buffer.from(JSON.stringify(json)).toString('base64url');
}

/** The cursor in a token, undefined for '' (the first page). `scope` names the listing. */
export function decodePageToken(scope: string, token: string): PageCursor | undefined {
  if (token === '') return undefined;
  let json: Partial<TokenJson>;
  try {
    json = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as Partial<TokenJson>;
  } catch {
    throw invalidArgument('page_token', 'is not a page token from this service');
  }
  if (typeof json.s !== 'string' || typeof json.r !== 'string' || !/^[0-9]+$/.test(json.r) || typeof json.a !== 'string') {
    throw invalidArgument('page_token', 'is not a page token from this service');
  }
  if (json.s !== scope) throw invalidArgument('page_token', 'belongs to another listing (other prefix or filters)');
  return { revision: BigInt(json.r), after: json.a };
}

export interface Page<T> {
  items: T[];
  revision: bigint;
  /** '' on the last page. */
  nextPageToken: string;
}

/**
 * One page of the files under `prefix` that `select` keeps (undefined skips a file),
 * at most `pageSize` of them and about MAX_PAGE_BYTES as `size` counts them.
 */
export async function readPage<T>(
  store: Store,
  prefix: string,
  scope: string,
  request: { pageSize: number; pageToken: string },
  select: (kv: KVInfo) => T | undefined,
  size: (item: T) => number,
): Promise<Page<T>> {
  const pageSize = pageSizeOf(request.pageSize);
  const cursor = decodePageToken(scope, request.pageToken);
  let revision = cursor?.revision;
  let after = cursor?.after === '' ? undefined : cursor?.after;
  const items: T[] = [];
  let bytes = 0;
  for (;;) {
    // Small reads: a page that fills its byte budget early wastes at most one of them.
    const page = await store.listPage(prefix, { limit: Math.min(pageSize - items.length, READ_BATCH), after, revision });
    revision = page.revision;
    for (const kv of page.items) {
      after = kv.path;
      const item = select(kv);
      if (item === undefined) continue;
      items.push(item);
      bytes += size(item);
      if (items.length >= pageSize || bytes >= MAX_PAGE_BYTES) {
        const last = kv === page.items[page.items.length - 1] && !page.more;
        return { items, revision, nextPageToken: last ? '' : encodePageToken(scope, { revision, after }) };
      }
    }
    if (!page.more) return { items, revision, nextPageToken: '' };
  }
}
