/**
 * The public surface of the protobuf data model. Import from here, not from `./gen`:
 * the generated files are rebuilt by `npm run proto` and their layout may change.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export * from './gen/topo/data/v1/topodata';
export * from './gen/topo/data/v1/vttime';
// VTOrc's messages are named Keyspace and Shard too, so they get their own namespace.
export * as vtorc from './gen/topo/vtorc/v1/vtorcdata';
// Vitess's vschema.proto names a message Keyspace too: its own namespace as well.
export * as vschema from './gen/topo/vschema/v1/vschema';

/**
 * The FileDescriptorSet built by `buf build` from the same sources as the generated code,
 * with every imported file included, so server reflection can answer describe requests.
 */
export const descriptorSetPath = join(__dirname, 'gen', 'descriptor-set.binpb');

/** Reads the descriptor set, failing with the command that produces it when missing. */
export function readDescriptorSet(): Buffer {
  try {
    return readFileSync(descriptorSetPath);
  } catch (err) {
    throw new Error(`cannot read ${descriptorSetPath}; run \`npm run proto\``, { cause: err });
  }
}
