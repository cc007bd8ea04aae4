import { status, type ServiceError } from '@grpc/grpc-js';

export function isServiceError(err: unknown): err is ServiceError {
  return err instanceof Error && typeof (err as Partial<ServiceError>).code === 'number' && 'details' in err;
}

/** `NOT_FOUND`, `UNAVAILABLE`, ...: the names grpcurl and the docs use. */
export function codeName(code: number): string {
  return status[code] ?? `CODE_${code}`;
}

/** `NOT_FOUND: keyspace "x" ...` for a gRPC error; the message alone for anything else. */
export function describeError(err: unknown): string {
  if (isServiceError(err)) {
    // grpc-js appends an empty "Resolution note:" to connection failures.
    const details = (err.details || err.message).replace(/\s*Resolution note:\s*$/, '');
    return `${codeName(err.code)}: ${details}`;
  }
  if (err instanceof Error) return err.message;
  return String(err);
}
