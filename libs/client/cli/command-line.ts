import { parseArgs } from 'node:util';
import { isGroup, UsageError, type Command, type CommandEntry, type OptionSpecs, type OptionValue } from './command';
import { GLOBAL_OPTIONS } from './global-options';
import { commandHelp, groupHelp, topHelp } from './help-text';

export type Invocation =
  | { kind: 'help'; text: string }
  | { kind: 'version' }
  | { kind: 'run'; command: Command; args: string[]; values: Record<string, OptionValue>; help: string };

/**
 * Splits argv into the command (one or two words) and its arguments. Global flags may come
 * before the command; after it, each command's flags are parsed by node:util parseArgs
 * together with the global ones, strictly. A usage error carries the help of the closest
 * command, group or the top level.
 */
export function parseCommandLine(argv: string[], entries: CommandEntry[]): Invocation {
  const top = topHelp(entries);
  let i = 0;
  const leading: string[] = [];
  while (i < argv.length && argv[i].startsWith('-') && argv[i] !== '--') {
    const consumed = leadingGlobal(argv, i, top);
    leading.push(...argv.slice(i, i + consumed));
    i += consumed;
  }
  const wantsHelp = leading.some((token) => token === '--help' || token === '-h');
  if (leading.includes('--version')) return { kind: 'version' };
  if (i >= argv.length || argv[i] === '--') {
    if (wantsHelp) return { kind: 'help', text: top };
    throw new UsageError('missing command', top);
  }
  // `topoctl help keyspaces create` reads as `topoctl keyspaces create --help`.
  if (argv[i] === 'help') return { kind: 'help', text: helpFor(argv.slice(i + 1), entries) };

  const entry = entries.find((e) => e.name === argv[i]);
  if (!entry) throw new UsageError(`unknown command ${JSON.stringify(argv[i])}`, top);
  i++;
  let command: Command;
  let path: string;
  if (isGroup(entry)) {
    const help = groupHelp(entry);
    const word = argv[i];
    if (word === undefined || word.startsWith('-')) {
      const rest = argv.slice(i);
      if (wantsHelp || rest.includes('--help') || rest.includes('-h')) return { kind: 'help', text: help };
      throw new UsageError(`${entry.name} needs a subcommand: ${entry.commands.map((c) => c.name).join(', ')}`, help);
    }
    const found = entry.commands.find((c) => c.name === word);
    if (!found) throw new UsageError(`unknown ${entry.name} subcommand ${JSON.stringify(word)}`, help);
    command = found;
    path = `${entry.name} ${found.name}`;
    i++;
  } else {
    command = entry;
    path = entry.name;
  }

  const help = commandHelp(path, command);
  const specs: OptionSpecs = { ...GLOBAL_OPTIONS, ...command.options };
  let parsed: { values: Record<string, OptionValue>; positionals: string[] };
  try {
    parsed = parseArgs({
      args: joinOptionValues([...leading, ...argv.slice(i)], specs),
      options: parseArgsConfig(specs),
      strict: true,
      allowPositionals: true,
    });
  } catch (err) {
    throw new UsageError(err instanceof Error ? err.message : String(err), help);
  }
  if (parsed.values.help === true) return { kind: 'help', text: help };
  if (parsed.values.version === true) return { kind: 'version' };
  const args = command.args ?? [];
  const missing = args.find((arg, index) => !arg.optional && parsed.positionals[index] === undefined);
  if (missing) throw new UsageError(`missing ${missing.name}`, help);
  if (parsed.positionals.length > args.length) {
    throw new UsageError(`unexpected argument ${JSON.stringify(parsed.positionals[args.length])}`, help);
  }
  return { kind: 'run', command, args: parsed.positionals, values: parsed.values, help };
}

/** How many tokens a global flag before the command takes; anything else is a usage error. */
function leadingGlobal(argv: string[], i: number, help: string): number {
  const token = argv[i];
  const name = token.startsWith('--') ? token.slice(2).split('=')[0] : shortName(token.slice(1));
  const spec = name === undefined ? undefined : GLOBAL_OPTIONS[name];
  if (!spec) throw new UsageError(`unknown option ${token} (command flags go after the command)`, help);
  if (spec.type === 'boolean' || token.includes('=')) return 1;
  if (i + 1 >= argv.length) throw new UsageError(`${token} needs a value`, help);
  return 2;
}

function shortName(short: string): string | undefined {
  return Object.entries(GLOBAL_OPTIONS).find(([, spec]) => spec.short === short)?.[0];
}

function helpFor(words: string[], entries: CommandEntry[]): string {
  const entry = entries.find((e) => e.name === words[0]);
  if (!entry) return topHelp(entries);
  if (!isGroup(entry)) return commandHelp(entry.name, entry);
  const command = entry.commands.find((c) => c.name === words[1]);
  return command ? commandHelp(`${entry.name} ${command.name}`, command) : groupHelp(entry);
}

/**
 * `--shard -80` becomes `--shard=-80`: parseArgs refuses a value that starts with '-' as
 * ambiguous, and shard names do. A following `--flag` is never taken as a value.
 */
function joinOptionValues(tokens: string[], specs: OptionSpecs): string[] {
  const out: string[] = [];
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i];
    if (token === '--') {
      out.push(...tokens.slice(i));
      break;
    }
    const next = tokens[i + 1];
    const spec = token.startsWith('--') && !token.includes('=') ? specs[token.slice(2)] : undefined;
    if (spec?.type === 'string' && next !== undefined && !next.startsWith('--')) {
      out.push(`${token}=${next}`);
      i++;
    } else {
      out.push(token);
    }
  }
  return out;
}

type ParseArgsOptions = Record<string, { type: 'string' | 'boolean'; multiple?: boolean; short?: string }>;

function parseArgsConfig(specs: OptionSpecs): ParseArgsOptions {
  const config: ParseArgsOptions = {};
  for (const [name, spec] of Object.entries(specs)) {
    config[name] = { type: spec.type, ...(spec.multiple ? { multiple: true } : {}), ...(spec.short ? { short: spec.short } : {}) };
  }
  return config;
}
