import { status, type ServiceError } from '@grpc/grpc-js';

export function isServiceError(err: unknown): err is ServiceError {
  return err instanceof Error && typeof (err as Partial<ServiceError>).code === 'number' && 'details' in err;
}

/** `NOT_FOUND`, `UNAVAILABLE`, ...: the names grpcurl and the docs use. */
export function codeName(code: number): string {
  return status[code] ?? `CODE_${code}`;
}

/**
 * A failure topoctl itself diagnosed, reported under the gRPC code of the call it
 * explains (`ALREADY_EXISTS: commerce/-80 is locked by ...`), so scripts see one set of codes.
 */
export class CallFailure extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

/** `{"code":"NOT_FOUND","message":"...","exitCode":1}` for --json: errors a script can parse. */
export function errorJson(err: unknown, exitCode: number): { code: string; message: string; exitCode: number } {
  if (err instanceof CallFailure) return { code: codeName(err.code), message: err.message, exitCode };
  if (isServiceError(err)) return { code: codeName(err.code), message: serviceDetails(err), exitCode };
  return { code: exitCode === 2 ? 'USAGE' : 'UNKNOWN', message: err instanceof Error ? err.message : String(err), exitCode };
}

function serviceDetails(err: { details?: string; message: string }): string {
  // grpc-js appends an empty "Resolution note:" to connection failures.
  return (err.details || err.message).replace(/\s*Resolution note:\s*$/, '');
}

/** `NOT_FOUND: keyspace "x" ...` for a gRPC error; the message alone for anything else. */
export function describeError(err: unknown): string {
  if (err instanceof CallFailure) return `${codeName(err.code)}: ${err.message}`;
  if (isServiceError(err)) return `${codeName(err.code)}: ${serviceDetails(err)}`;
  if (err instanceof Error) return err.message;
  return String(err);
}
