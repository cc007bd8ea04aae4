/**
 * Cells aliases in the global topology (Vitess `topo/cells_aliases.go`): a name for a
 * group of cells. A cell belongs to at most one alias, and an alias may not take a cell's
 * name, since tools resolve a name as a cell first and then as an alias.
 */
import { CellsAlias } from '../proto';
import { TopoError, TopoErrorCode, type Store, type Version } from '../store';
import { CELLS_ALIAS_FILE, CELLS_ALIASES_DIR, cellInfoPath, cellsAliasPath } from './paths';
import { refuseIfExists } from './private/existence';
import { fieldError, quote } from './private/field-error';
import { decodeListed } from './private/undecodable';
import { ProtoRecord } from './private/proto-record';
import { validateCellName } from './validation';
import type { FenceOption, FieldUpdate, VersionedWriteOptions } from './write-options';

export interface CellsAliasRecord {
  name: string;
  cellsAlias: CellsAlias;
  version: Version;
}

const label = (name: string): string => `cells alias ${quote(name)}`;

/** The checks of an alias on its own: at least one cell, each a valid name, none twice. */
export function validateCellsAliasCells(alias: CellsAlias): void {
  if (alias.cells.length === 0) throw fieldError('cells_alias.cells', 'is empty — an alias names at least one cell');
  const seen = new Set<string>();
  alias.cells.forEach((cell, index) => {
    validateCellName(cell, `cells_alias.cells[${index}]`);
    if (seen.has(cell)) throw fieldError(`cells_alias.cells[${index}]`, `${quote(cell)} is listed twice`);
    seen.add(cell);
  });
}

export class CellsAliases {
  constructor(private readonly store: Store) {}

  /**
   * Refused with InvalidArgument for an empty or repeated cell list, NoNode for a cell that
   * is not registered, NodeExists when a cell is already in another alias or a cell has
   * this name.
   */
  create(name: string, cellsAlias: CellsAlias, options: FenceOption = {}): Promise<Version> {
    const path = cellsAliasPath(name);
    return this.record(name).create(path, label(name), cellsAlias, options);
  }

  async get(name: string): Promise<CellsAliasRecord> {
    const { value, version } = await this.record(name).get(cellsAliasPath(name), label(name));
    return { name, cellsAlias: value, version };
  }

  /** Alias names, sorted. */
  async list(skipped?: string[]): Promise<string[]> {
    return (await this.findAll(skipped)).map((record) => record.name);
  }

  /** Every alias with its record, sorted by name; records that do not decode are left out, their paths pushed to `skipped`. */
  async findAll(skipped?: string[]): Promise<CellsAliasRecord[]> {
    const prefix = `${CELLS_ALIASES_DIR}/`;
    const records: CellsAliasRecord[] = [];
    for (const kv of await this.store.list(prefix)) {
      const rest = kv.path.slice(prefix.length).split('/');
      if (rest.length !== 2 || rest[1] !== CELLS_ALIAS_FILE) continue;
      const cellsAlias = decodeListed(CellsAlias, kv, skipped);
      if (cellsAlias) records.push({ name: rest[0], cellsAlias, version: kv.version });
    }
    return records.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  /** Compare-and-swap on `version`, with the same rules as create. */
  update(name: string, cellsAlias: CellsAlias, version: Version, options: FenceOption = {}): Promise<Version> {
    const path = cellsAliasPath(name);
    return this.record(name).update(path, label(name), cellsAlias, version, options);
  }

  async updateFields(name: string, change: FieldUpdate<CellsAlias>, options: VersionedWriteOptions = {}): Promise<CellsAliasRecord> {
    const path = cellsAliasPath(name);
    const { value, version } = await this.record(name).updateFields(path, label(name), change, options);
    return { name, cellsAlias: value, version };
  }

  async delete(name: string, options: VersionedWriteOptions = {}): Promise<void> {
    const path = cellsAliasPath(name);
    await this.record(name).delete(path, label(name), options);
  }

  /** The aliases that list a cell. */
  async aliasesOf(cell: string): Promise<string[]> {
    validateCellName(cell);
    return (await this.findAll()).filter((record) => record.cellsAlias.cells.includes(cell)).map((record) => record.name);
  }

  private record(name: string): ProtoRecord<CellsAlias> {
    return new ProtoRecord(this.store, CellsAlias, (value, previous) => this.validate(name, value, previous));
  }

  /**
   * Only cells added by this write must be registered: a cell deleted with `force` may
   * linger in an alias, and that must not block unrelated changes to the alias.
   */
  private async validate(name: string, alias: CellsAlias, previous: CellsAlias | undefined): Promise<void> {
    validateCellsAliasCells(alias);
    await refuseIfExists(this.store, cellInfoPath(name), `${label(name)}: the name is already used by a cell`);
    const added = alias.cells.filter((cell) => !previous?.cells.includes(cell));
    for (const cell of added) {
      await this.store.get(cellInfoPath(cell)).catch((err: unknown) => {
        if (TopoError.is(err, TopoErrorCode.NoNode)) {
          throw new TopoError(TopoErrorCode.NoNode, `${label(name)}: cell ${quote(cell)} doesn't exist`, { cause: err });
        }
        throw err;
      });
    }
    for (const other of await this.findAll()) {
      if (other.name === name) continue;
      const shared = alias.cells.find((cell) => other.cellsAlias.cells.includes(cell));
      if (shared !== undefined) {
        throw new TopoError(TopoErrorCode.NodeExists, `${label(name)}: cell ${quote(shared)} is already in ${label(other.name)}`);
      }
    }
  }
}
