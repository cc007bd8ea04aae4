import { invalidArgument } from './errors';

/**
 * Limits on what the store accepts. etcd refuses requests over 1.5 MiB; values stay well
 * under that so a transaction with a value plus its compares and a second small record
 * (tablet plus ShardReplication) always fits.
 */
export const MAX_PATH_BYTES = 1024;
export const MAX_SEGMENT_BYTES = 255;
export const MAX_VALUE_BYTES = 1024 * 1024;

// C0 controls, DEL and C1 controls: invisible in listings and logs, and NUL ends C strings.
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

function checkSegments(path: string, what: string, allowEmpty: boolean): string[] {
  if (path === '') {
    if (allowEmpty) return [];
    throw invalidArgument(`${what} is empty`);
  }
  if (Buffer.byteLength(path, 'utf8') > MAX_PATH_BYTES) {
    throw invalidArgument(`${what} is longer than ${MAX_PATH_BYTES} bytes`);
  }
  if (CONTROL.test(path)) {
    throw invalidArgument(`${what} ${JSON.stringify(path)} contains a control character`);
  }
  const segments = path.split('/');
  for (const segment of segments) {
    if (segment === '') throw invalidArgument(`${what} ${JSON.stringify(path)} has an empty segment`);
    if (segment === '.' || segment === '..') {
      throw invalidArgument(`${what} ${JSON.stringify(path)} has a '${segment}' segment`);
    }
    if (Buffer.byteLength(segment, 'utf8') > MAX_SEGMENT_BYTES) {
      throw invalidArgument(`${what} ${JSON.stringify(path)} has a segment longer than ${MAX_SEGMENT_BYTES} bytes`);
    }
  }
  return segments;
}

/** A file path: one or more segments, no leading or trailing '/'. */
export function checkFilePath(path: string): string {
  checkSegments(path, 'path', false);
  return path;
}

/** A directory path; '' and '/' name the root. A trailing '/' is accepted and dropped. */
export function checkDirPath(path: string): string {
  const trimmed = path === '/' ? '' : path.endsWith('/') ? path.slice(0, -1) : path;
  checkSegments(trimmed, 'directory path', true);
  return trimmed;
}

/** A list prefix: any leading part of a path; a trailing '/' restricts it to that directory. */
export function checkPrefix(prefix: string): string {
  if (prefix === '') return prefix;
  const body = prefix.endsWith('/') ? prefix.slice(0, -1) : prefix;
  checkSegments(body, 'prefix', false);
  return prefix;
}

export function checkValue(contents: Uint8Array): Uint8Array {
  if (!(contents instanceof Uint8Array)) throw invalidArgument('contents must be bytes');
  if (contents.byteLength > MAX_VALUE_BYTES) {
    throw invalidArgument(`value of ${contents.byteLength} bytes is larger than the ${MAX_VALUE_BYTES}-byte limit`);
  }
  return contents;
}

/**
 * A file or directory path in any form Vitess's topo.Conn passes, mapped as Go's
 * `path.Join(root, p)` maps it: one leading '/' and one trailing '/' dropped, '/' alone the
 * root (''). Nothing else is cleaned: empty, '.' and '..' segments and control characters
 * stay for the checks above to refuse.
 */
export function fromVitessPath(path: string): string {
  if (path === '/') return '';
  const body = path.startsWith('/') ? path.slice(1) : path;
  return body.endsWith('/') ? body.slice(0, -1) : body;
}

/**
 * A list prefix in Vitess's form: one leading '/' dropped, '/' alone the root. A trailing
 * '/' is kept: here it keeps the prefix inside that directory (where path.Join would drop
 * it and let `keyspaces/ks/` match `keyspaces/ks2/...` too).
 */
export function fromVitessPrefix(prefix: string): string {
  return prefix.startsWith('/') ? prefix.slice(1) : prefix;
}

/** A store root: '/'-separated segments with a leading '/', e.g. '/topo/global'. */
export function checkRoot(root: string): string {
  if (!root.startsWith('/')) throw invalidArgument(`root ${JSON.stringify(root)} must start with '/'`);
  const body = root.slice(1).replace(/\/$/, '');
  checkSegments(body, 'root', true);
  return body === '' ? '' : `/${body}`;
}

/** Maps store-relative paths to backend keys under one root, and back. */
export class KeySpace {
  constructor(readonly root: string) {}

  key(path: string): string {
    return path === '' ? `${this.root}/` : `${this.root}/${path}`;
  }

  /** Key prefix matching everything inside a directory. */
  dirPrefix(dirPath: string): string {
    return dirPath === '' ? `${this.root}/` : `${this.root}/${dirPath}/`;
  }

  path(key: string): string {
    return key.slice(this.root.length + 1);
  }
}
