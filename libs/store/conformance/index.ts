import { directoryChecks } from './directory';
import { electionChecks } from './election';
import { fileChecks } from './file';
import type { ConformanceHarness } from './harness';
import { leaseChecks } from './lease';
import { listPageChecks } from './list-page';
import { lockChecks } from './lock';
import { validationChecks } from './validation';
import { watchChecks } from './watch';

export type { ConformanceHarness } from './harness';

/**
 * The one conformance suite every store plugin must pass, as Vitess's go/vt/topo/test is
 * for topo.Conn implementations. Each plugin's spec calls this with its harness.
 */
export function describeStoreConformance(plugin: string, harness: ConformanceHarness): void {
  describe(`store conformance: ${plugin}`, () => {
    describe('directory', () => directoryChecks(harness));
    describe('file', () => fileChecks(harness));
    describe('list pages', () => listPageChecks(harness));
    describe('watch', () => watchChecks(harness));
    describe('lock', () => lockChecks(harness));
    describe('election', () => electionChecks(harness));
    describe('lease', () => leaseChecks(harness));
    describe('validation', () => validationChecks(harness));
  });
}
