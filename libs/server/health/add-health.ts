import type { Server } from '@grpc/grpc-js';
import { HealthService as HealthServiceDefinition } from '../../proto/gen/grpc/health/v1/health';
import type { HealthService } from './health-service';

/** The full name to list in reflection's `services` when health is registered. */
export const HEALTH_SERVICE_NAME = 'grpc.health.v1.Health';

/** Registers `grpc.health.v1.Health` on the server, answering from `health`. */
export function addHealth(server: Server, health: HealthService): void {
  server.addService(HealthServiceDefinition, health.implementation);
}
