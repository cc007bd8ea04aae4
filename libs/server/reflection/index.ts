/** gRPC server reflection (v1 and v1alpha) answered from the build's descriptor set. */
export { addReflection } from './add-reflection';
export { DescriptorIndex } from './descriptor-index';
export { REFLECTION_SERVICE_NAMES, ReflectionService, type ReflectionOptions } from './reflection-service';
