import { isGroup, type Command, type CommandEntry, type CommandGroup, type OptionSpecs } from './command';
import { GLOBAL_OPTIONS } from './global-options';

const EXIT_CODES = 'Exit codes: 0 ok, 1 a gRPC error (or a service not serving), 2 a usage error.';

function columns(rows: Array<[string, string]>, indent = '  '): string {
  const width = Math.max(0, ...rows.map(([left]) => left.length));
  return rows.map(([left, right]) => `${indent}${left.padEnd(width)}  ${right}`.trimEnd()).join('\n');
}

function optionRows(specs: OptionSpecs): Array<[string, string]> {
  return Object.entries(specs).map(([name, spec]) => {
    const flag = `${spec.short ? `-${spec.short}, ` : ''}--${name}${spec.type === 'string' ? ` ${spec.value ?? 'VALUE'}` : ''}`;
    return [flag, spec.multiple ? `${spec.description} (repeatable)` : spec.description];
  });
}

function synopsis(path: string, command: Command): string {
  const args = (command.args ?? []).map((arg) => (arg.optional ? `[${arg.name}]` : arg.name));
  return ['topoctl', path, ...args, '[options]'].join(' ');
}

export function topHelp(entries: CommandEntry[]): string {
  const rows: Array<[string, string]> = entries.map((entry) =>
    isGroup(entry)
      ? [`${entry.name} ${entry.commands.map((c) => c.name).join('|')}`, entry.summary]
      : [entry.name, entry.summary],
  );
  return [
    'topoctl: operate the topology service (global-topo and each cell\'s cell-topo)',
    '',
    'Usage: topoctl [global options] COMMAND [SUBCOMMAND] [ARGS] [options]',
    '',
    'Commands:',
    columns(rows),
    '',
    'Global options (before or after the command):',
    columns(optionRows(GLOBAL_OPTIONS)),
    '',
    EXIT_CODES,
    "Run 'topoctl COMMAND --help' for a command's arguments, options and examples.",
    '',
  ].join('\n');
}

export function groupHelp(group: CommandGroup): string {
  return [
    `topoctl ${group.name}: ${group.summary}`,
    '',
    `Usage: topoctl ${group.name} SUBCOMMAND [ARGS] [options]`,
    '',
    'Subcommands:',
    columns(group.commands.map((c) => [synopsis(`${group.name} ${c.name}`, c).replace(/^topoctl /, ''), c.summary])),
    '',
    'Global options:',
    columns(optionRows(GLOBAL_OPTIONS)),
    '',
    `Run 'topoctl ${group.name} SUBCOMMAND --help' for its options and examples.`,
    '',
  ].join('\n');
}

export function commandHelp(path: string, command: Command): string {
  const lines = [`Usage: ${synopsis(path, command)}`, '', `${command.summary}.`];
  if (command.description) lines.push('', command.description);
  if (command.options && Object.keys(command.options).length > 0) {
    lines.push('', 'Options:', columns(optionRows(command.options)));
  }
  lines.push('', 'Global options:', columns(optionRows(GLOBAL_OPTIONS)));
  if (command.examples?.length) lines.push('', 'Examples:', ...command.examples.map((e) => `  ${e}`));
  lines.push('', EXIT_CODES, '');
  return lines.join('\n');
}
