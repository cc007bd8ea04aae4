import { Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { TopoError, TopoErrorCode } from '../store';

/** The one mapping from store errors to gRPC status codes (DESIGN.md section 4). */
const CODES: Record<TopoErrorCode, status> = {
  [TopoErrorCode.NoNode]: status.NOT_FOUND,
  [TopoErrorCode.NodeExists]: status.ALREADY_EXISTS,
  [TopoErrorCode.BadVersion]: status.FAILED_PRECONDITION,
  [TopoErrorCode.NodeNotEmpty]: status.FAILED_PRECONDITION,
  [TopoErrorCode.LockLost]: status.FAILED_PRECONDITION,
  [TopoErrorCode.Timeout]: status.DEADLINE_EXCEEDED,
  [TopoErrorCode.Interrupted]: status.CANCELLED,
  [TopoErrorCode.ResourceExhausted]: status.RESOURCE_EXHAUSTED,
  [TopoErrorCode.NoSpace]: status.RESOURCE_EXHAUSTED,
  [TopoErrorCode.NoImplementation]: status.UNIMPLEMENTED,
  [TopoErrorCode.InvalidArgument]: status.INVALID_ARGUMENT,
  [TopoErrorCode.Unavailable]: status.UNAVAILABLE,
  [TopoErrorCode.Compacted]: status.OUT_OF_RANGE,
};

/** Store errors that share their gRPC code with another; their status message starts with the error's name. */
const SHARED_CODE = new Set([TopoErrorCode.BadVersion, TopoErrorCode.NodeNotEmpty, TopoErrorCode.LockLost]);

export function grpcCodeOf(code: TopoErrorCode): status {
  return CODES[code];
}

/** A gRPC error carrying a status; handlers throw these for request-level refusals. */
export class StatusError extends Error implements Partial<ServiceError> {
  readonly metadata = new Metadata();

  constructor(
    readonly code: status,
    readonly details: string,
  ) {
    super(details);
  }
}

export const invalidArgument = (field: string, why: string): StatusError =>
  new StatusError(status.INVALID_ARGUMENT, `${field}: ${why}`);

/**
 * What a client sees for an error. Store errors keep their message (they name the path or
 * field at fault), prefixed with the error's name where the code alone is ambiguous
 * (`BadVersion: ...`, `NodeNotEmpty: ...`, `LockLost: ...`); anything else is an internal error whose details stay in the server log.
 */
export function toServiceError(err: unknown): { code: status; details: string; internal: boolean } {
  if (err instanceof StatusError) return { code: err.code, details: err.details, internal: false };
  if (err instanceof TopoError) {
    // FAILED_PRECONDITION stands for three store errors; the message names which, so a
    // client (the Go topo.Conn) maps it back to BadVersion, NodeNotEmpty or LockLost.
    const details = SHARED_CODE.has(err.code) ? `${err.code}: ${err.detail}` : err.detail;
    return { code: CODES[err.code], details, internal: false };
  }
  return { code: status.INTERNAL, details: 'internal error', internal: true };
}
