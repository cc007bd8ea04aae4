import type { Server } from '@grpc/grpc-js';
import * as v1 from '../../proto/gen/grpc/reflection/v1/reflection';
import * as v1alpha from '../../proto/gen/grpc/reflection/v1alpha/reflection';
import { REFLECTION_SERVICE_NAMES, ReflectionService, type ReflectionOptions } from './reflection-service';

/**
 * Registers `grpc.reflection.v1.ServerReflection` and its v1alpha twin (grpcurl tries v1
 * first, older tools only know v1alpha). `services` lists what else the server registers;
 * the reflection services are added to it.
 */
export function addReflection(server: Server, options: ReflectionOptions): ReflectionService {
  const reflection = new ReflectionService({
    ...options,
    services: [...options.services, ...REFLECTION_SERVICE_NAMES],
  });
  const handle = reflection.handle.bind(reflection);
  const v1Server: v1.ServerReflectionServer = { serverReflectionInfo: handle };
  const v1alphaServer: v1alpha.ServerReflectionServer = { serverReflectionInfo: handle };
  server.addService(v1.ServerReflectionService, v1Server);
  server.addService(v1alpha.ServerReflectionService, v1alphaServer);
  return reflection;
}
