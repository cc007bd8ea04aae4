import { TopoError, TopoErrorCode, type DirEntry, type Store } from '../../store';
import { keyspacePath } from '../paths';
import { quote } from './field-error';

/** NoNode naming the keyspace when it has no Keyspace record. */
export async function requireKeyspace(store: Store, keyspace: string): Promise<void> {
  await store.get(keyspacePath(keyspace)).catch((err: unknown) => {
    if (TopoError.is(err, TopoErrorCode.NoNode)) {
      throw new TopoError(TopoErrorCode.NoNode, `keyspace ${quote(keyspace)} doesn't exist`, { cause: err });
    }
    throw err;
  });
}

/** NodeExists with `message` when `path` exists. */
export async function refuseIfExists(store: Store, path: string, message: string): Promise<void> {
  const exists = await store.get(path).then(
    () => true,
    (err: unknown) => {
      if (TopoError.is(err, TopoErrorCode.NoNode)) return false;
      throw err;
    },
  );
  if (exists) throw new TopoError(TopoErrorCode.NodeExists, message);
}

/** A directory that is empty or missing lists as nothing. */
export function emptyOnNoNode(err: unknown): DirEntry[] {
  if (TopoError.is(err, TopoErrorCode.NoNode)) return [];
  throw err;
}
