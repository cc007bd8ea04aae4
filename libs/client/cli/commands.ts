import { cellsCommands } from './cells-commands';
import type { CommandEntry } from './command';
import { healthCommand } from './health-command';
import { keyspacesCommands } from './keyspaces-commands';
import { lockCommand, locksCommand, unlockCommand } from './lock-commands';
import { catCommand, lsCommand, rmCommand } from './path-commands';
import { rebuildCommands } from './rebuild-commands';
import { shardsCommands } from './shards-commands';
import { tabletsCommands } from './tablets-commands';
import { watchCommand } from './watch-command';

/** Every topoctl command, in the order `topoctl --help` lists them. */
export const COMMANDS: CommandEntry[] = [
  keyspacesCommands,
  shardsCommands,
  cellsCommands,
  tabletsCommands,
  watchCommand,
  lockCommand,
  unlockCommand,
  locksCommand,
  rebuildCommands,
  lsCommand,
  catCommand,
  rmCommand,
  healthCommand,
];
