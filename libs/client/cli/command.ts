import type { Output } from './output';
import type { Settings } from './global-options';
import type { TopoClients } from './topo-clients';

/** A flag of a command, declared once for parsing and for its help line. */
export interface OptionSpec {
  type: 'string' | 'boolean';
  /** May be given more than once; values are collected in order. */
  multiple?: boolean;
  short?: string;
  /** Placeholder for the value in help, e.g. `host:port`. */
  value?: string;
  description: string;
}

export type OptionSpecs = Record<string, OptionSpec>;

export interface ArgSpec {
  name: string;
  optional?: boolean;
}

export interface Command {
  name: string;
  summary: string;
  /** Shown under the usage line by --help. */
  description?: string;
  args?: ArgSpec[];
  options?: OptionSpecs;
  examples?: string[];
  /** Resolves with the exit code; undefined means 0. */
  run(ctx: CommandContext): Promise<number | void>;
}

/** A noun with verbs: `topoctl keyspaces list`. */
export interface CommandGroup {
  name: string;
  summary: string;
  commands: Command[];
}

export type CommandEntry = Command | CommandGroup;

export function isGroup(entry: CommandEntry): entry is CommandGroup {
  return 'commands' in entry;
}

/** Wrong arguments or flags: exit code 2, with the help of the command that was meant. */
export class UsageError extends Error {
  constructor(
    message: string,
    /** Filled in by the parser with the closest command's help. */
    public help = '',
  ) {
    super(message);
  }
}

export type OptionValue = string | boolean | Array<string | boolean> | undefined;

/** What a command runs with: its arguments and flags, the connections and the output. */
export class CommandContext {
  constructor(
    readonly args: string[],
    private readonly values: Record<string, OptionValue>,
    readonly settings: Settings,
    readonly topo: TopoClients,
    readonly out: Output,
    readonly signal: AbortSignal,
  ) {}

  string(name: string): string | undefined {
    const value = this.values[name];
    return typeof value === 'string' ? value : undefined;
  }

  required(name: string): string {
    const value = this.string(name);
    if (value === undefined || value === '') throw new UsageError(`--${name} is required`);
    return value;
  }

  flag(name: string): boolean {
    return this.values[name] === true;
  }

  /** Every value of a repeatable flag, in order. */
  all(name: string): string[] {
    const value = this.values[name];
    const raw = Array.isArray(value) ? value : value === undefined ? [] : [value];
    return raw.filter((v): v is string => typeof v === 'string');
  }

  /** Every value of a repeatable flag, each also split on commas: `--cells a,b --cells c`. */
  list(name: string): string[] {
    return this.all(name)
      .flatMap((v) => v.split(','))
      .map((v) => v.trim())
      .filter((v) => v !== '');
  }
}
