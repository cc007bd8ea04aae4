import { accessSync, constants } from 'node:fs';
import { delimiter, isAbsolute, join, resolve } from 'node:path';

export const MISSING_ETCD_HINT =
  "install Debian's `etcd-server` package (`apt-get install etcd-server`) or set ETCD_BIN";

/** The etcd to run: the explicit option, else ETCD_BIN, else `etcd` on PATH. */
export function resolveEtcdBinary(explicit?: string): string {
  const wanted = explicit ?? process.env.ETCD_BIN ?? 'etcd';
  const found = findExecutable(wanted);
  if (found === undefined) {
    throw new Error(`etcd binary '${wanted}' not found: ${MISSING_ETCD_HINT}`);
  }
  return found;
}

/** An executable by path, or by bare name searched on PATH like a shell would. */
export function findExecutable(name: string): string | undefined {
  if (name.includes('/')) {
    const path = isAbsolute(name) ? name : resolve(name);
    return isExecutable(path) ? path : undefined;
  }
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir === '') continue;
    const path = join(dir, name);
    if (isExecutable(path)) return path;
  }
  return undefined;
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}
