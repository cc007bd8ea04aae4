import { cellsAliasesCommands } from './cells-aliases-commands';
import { cellsCommands } from './cells-commands';
import { completionCommand } from './completion-command';
import type { CommandEntry } from './command';
import { healthCommand } from './health-command';
import { keyspacesCommands } from './keyspaces-commands';
import { lockCommand, locksCommand, unlockCommand } from './lock-commands';
import { catCommand, lsCommand, rmCommand } from './path-commands';
import { rebuildCommands } from './rebuild-commands';
import { shardsCommands } from './shards-commands';
import { tabletsCommands } from './tablets-commands';
import { routingRulesCommands, vschemaCommands } from './vschema-commands';
import { watchCommand } from './watch-command';

/** Every topoctl command, in the order `topoctl --help` lists them. */
export const COMMANDS: CommandEntry[] = [
  keyspacesCommands,
  shardsCommands,
  cellsCommands,
  cellsAliasesCommands,
  tabletsCommands,
  vschemaCommands,
  routingRulesCommands,
  watchCommand,
  lockCommand,
  unlockCommand,
  locksCommand,
  rebuildCommands,
  lsCommand,
  catCommand,
  rmCommand,
  healthCommand,
  completionCommand(() => COMMANDS),
];
