import { status, type ServerDuplexStream } from '@grpc/grpc-js';
import type {
  ServerReflectionRequest,
  ServerReflectionResponse,
} from '../../proto/gen/grpc/reflection/v1/reflection';
import { DescriptorIndex } from './descriptor-index';

/** The two reflection services `addReflection` registers, listed beside the caller's. */
export const REFLECTION_SERVICE_NAMES = [
  'grpc.reflection.v1.ServerReflection',
  'grpc.reflection.v1alpha.ServerReflection',
] as const;

export interface ReflectionOptions {
  /** Full names of the services registered on the server: what `list` shows. */
  services: readonly string[];
  /** A FileDescriptorSet holding every service's file and all their imports. */
  descriptorSet: Uint8Array;
}

/**
 * Answers server reflection requests from a FileDescriptorSet. v1 and v1alpha share one
 * wire format (only the package differs), so one implementation serves both.
 */
export class ReflectionService {
  private readonly index: DescriptorIndex;
  private readonly services: string[];

  constructor(options: ReflectionOptions) {
    this.index = new DescriptorIndex(options.descriptorSet);
    // A service missing from the set would be listed but never describable: refuse early.
    const missing = options.services.filter((name) => !this.index.hasService(name));
    if (missing.length > 0) {
      throw new Error(`services not in the descriptor set: ${missing.join(', ')}`);
    }
    this.services = [...new Set(options.services)].sort();
  }

  answer(request: ServerReflectionRequest): ServerReflectionResponse {
    const reply = (
      messageResponse: ServerReflectionResponse['messageResponse'],
    ): ServerReflectionResponse => ({
      validHost: request.host,
      originalRequest: request,
      messageResponse,
    });
    const files = (fileName: string | undefined, notFound: string): ServerReflectionResponse =>
      fileName === undefined
        ? reply(errorResponse(status.NOT_FOUND, notFound))
        : reply({
            $case: 'fileDescriptorResponse',
            value: { fileDescriptorProto: this.index.fileWithDependencies(fileName) },
          });

    const query = request.messageRequest;
    switch (query?.$case) {
      case 'listServices':
        return reply({
          $case: 'listServicesResponse',
          value: { service: this.services.map((name) => ({ name })) },
        });
      case 'fileByFilename':
        return files(
          this.index.hasFile(query.value) ? query.value : undefined,
          `file not found: ${query.value}`,
        );
      case 'fileContainingSymbol':
        return files(
          this.index.fileContainingSymbol(query.value),
          `symbol not found: ${query.value}`,
        );
      case 'fileContainingExtension': {
        const { containingType, extensionNumber } = query.value;
        return files(
          this.index.fileContainingExtension(containingType, extensionNumber),
          `extension not found: ${containingType} field ${extensionNumber}`,
        );
      }
      case 'allExtensionNumbersOfType': {
        const numbers = this.index.extensionNumbersOf(query.value);
        return numbers === undefined
          ? reply(errorResponse(status.NOT_FOUND, `message type not found: ${query.value}`))
          : reply({
              $case: 'allExtensionNumbersResponse',
              value: { baseTypeName: query.value, extensionNumber: numbers },
            });
      }
      case undefined:
        return reply(errorResponse(status.INVALID_ARGUMENT, 'request names no query'));
    }
  }

  /** The bidi handler: one response per request, in order, until the client half-closes. */
  handle(call: ServerDuplexStream<ServerReflectionRequest, ServerReflectionResponse>): void {
    call.on('data', (request: ServerReflectionRequest) => {
      let response: ServerReflectionResponse;
      try {
        response = this.answer(request);
      } catch (err) {
        const message = err instanceof Error ? err.message : String(err);
        response = {
          validHost: request.host,
          originalRequest: request,
          messageResponse: errorResponse(status.INTERNAL, message),
        };
      }
      // A client that sends without reading stops being read until its buffer drains.
      if (!call.write(response)) {
        call.pause();
        call.once('drain', () => call.resume());
      }
    });
    call.on('end', () => call.end());
    // A cancelled call surfaces here; there is nothing to clean up.
    call.on('error', () => undefined);
  }
}

function errorResponse(
  code: status,
  errorMessage: string,
): ServerReflectionResponse['messageResponse'] {
  return { $case: 'errorResponse', value: { errorCode: code, errorMessage } };
}
