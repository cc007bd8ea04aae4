/** The standard gRPC health service (`grpc.health.v1.Health`). */
export { addHealth, HEALTH_SERVICE_NAME } from './add-health';
export { HealthService, LIST_LIMIT, OVERALL, ServingStatus } from './health-service';
