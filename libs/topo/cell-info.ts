/**
 * The registry of cells in the global topology (Vitess `topo/cell_info.go`): for each
 * cell, where its topology service lives (`server_address`) and under which root.
 */
import { CellInfo } from '../proto';
import { TopoError, TopoErrorCode, type Store, type Version } from '../store';
import { CellsAliases } from './cells-alias';
import { CELLS_DIR, cellInfoPath, cellsAliasPath } from './paths';
import { emptyOnNoNode, refuseIfExists } from './private/existence';
import { quote } from './private/field-error';
import { ProtoRecord } from './private/proto-record';
import { validateCellRoot, validateServerAddress } from './validation';
import type { FenceOption, FieldUpdate, VersionedWriteOptions } from './write-options';

export interface CellInfoRecord {
  cellInfo: CellInfo;
  version: Version;
}

export interface DeleteCellOptions extends FenceOption {
  /** Delete even while a cells alias lists the cell; the alias keeps the stale name. */
  force?: boolean;
}

export function validateCellInfo(info: CellInfo): void {
  validateCellRoot(info.root, 'cell_info.root');
  validateServerAddress(info.serverAddress, 'cell_info.server_address');
}

const label = (cell: string): string => `cell ${quote(cell)}`;

export class Cells {
  private readonly records: ProtoRecord<CellInfo>;

  constructor(
    private readonly store: Store,
    private readonly aliases: CellsAliases = new CellsAliases(store),
  ) {
    this.records = new ProtoRecord(store, CellInfo, validateCellInfo);
  }

  /** NodeExists when the cell exists or a cells alias already has its name. */
  async create(cell: string, info: CellInfo, options: FenceOption = {}): Promise<Version> {
    const path = cellInfoPath(cell);
    validateCellInfo(info);
    await refuseIfExists(this.store, cellsAliasPath(cell), `${label(cell)}: the name is already used by a cells alias`);
    return this.records.create(path, label(cell), info, options);
  }

  async get(cell: string): Promise<CellInfoRecord> {
    const { value, version } = await this.records.get(cellInfoPath(cell), label(cell));
    return { cellInfo: value, version };
  }

  /** Cell names, sorted (Vitess GetCellInfoNames); empty when none is registered. */
  async list(): Promise<string[]> {
    const entries = await this.store.listDir(CELLS_DIR).catch(emptyOnNoNode);
    return entries.filter((entry) => entry.type === 'directory').map((entry) => entry.name);
  }

  /** Compare-and-swap on `version`. Unlike Vitess, never creates a missing cell: NoNode. */
  update(cell: string, info: CellInfo, version: Version, options: FenceOption = {}): Promise<Version> {
    return this.records.update(cellInfoPath(cell), label(cell), info, version, options);
  }

  async updateFields(cell: string, change: FieldUpdate<CellInfo>, options: VersionedWriteOptions = {}): Promise<CellInfoRecord> {
    const { value, version } = await this.records.updateFields(cellInfoPath(cell), label(cell), change, options);
    return { cellInfo: value, version };
  }

  /**
   * Refused with NodeNotEmpty while a cells alias lists the cell, unless `force`. Vitess's
   * DeleteCellInfo checks the cell's serving keyspaces instead; those live in the cell's own
   * topology, which this global store cannot see.
   */
  async delete(cell: string, options: DeleteCellOptions = {}): Promise<void> {
    const path = cellInfoPath(cell);
    await this.records.get(path, label(cell));
    if (!options.force) {
      const aliases = await this.aliases.aliasesOf(cell);
      if (aliases.length > 0) {
        throw new TopoError(
          TopoErrorCode.NodeNotEmpty,
          `${label(cell)} is still in cells alias ${aliases.map(quote).join(', ')} — remove it from the alias first, or delete with force`,
        );
      }
    }
    await this.records.delete(path, label(cell), { fence: options.fence });
  }
}
