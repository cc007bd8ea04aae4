import { Metadata, type ServiceError } from '@grpc/grpc-js';

export type UnaryMethod<Req, Res> = (
  request: Req,
  metadata: Metadata,
  options: { deadline: Date },
  callback: (err: ServiceError | null, response: Res) => void,
) => unknown;

/** Calls a generated grpc-js unary method with a deadline and resolves with its response. */
export function unaryCall<Req, Res>(method: UnaryMethod<Req, Res>, request: Req, timeoutMs = 10_000): Promise<Res> {
  return new Promise((resolve, reject) => {
    method(request, new Metadata(), { deadline: new Date(Date.now() + timeoutMs) }, (err, response) =>
      err ? reject(err) : resolve(response),
    );
  });
}
