import { TabletType } from '../../proto';
import { isGroup, UsageError, type Command, type CommandEntry, type OptionSpecs } from './command';
import { GLOBAL_OPTIONS } from './global-options';

const flagsOf = (specs: OptionSpecs): string[] => Object.keys(specs).map((name) => `--${name}`);
const TABLET_TYPES = Object.keys(TabletType).filter((n) => Number.isNaN(Number(n)) && n !== 'UNKNOWN' && n !== 'UNRECOGNIZED');

/**
 * A bash completion script for `entries`, generated from the same command table the parser
 * uses, so it never drifts from the commands. Static (no topoctl run per TAB): commands,
 * subcommands, each command's flags, and tablet types for --type.
 */
export function bashCompletion(entries: CommandEntry[]): string {
  const valueFlags = new Set<string>();
  const addValueFlags = (specs: OptionSpecs | undefined): void => {
    for (const [name, spec] of Object.entries(specs ?? {})) if (spec.type === 'string') valueFlags.add(`--${name}`);
  };
  addValueFlags(GLOBAL_OPTIONS);
  const cases: string[] = [];
  const subs: string[] = [];
  const flagCase = (path: string, command: Command): void => {
    addValueFlags(command.options);
    cases.push(`    '${path}') flags='${[...flagsOf(command.options ?? {}), ...flagsOf(GLOBAL_OPTIONS)].join(' ')}' ;;`);
  };
  for (const entry of entries) {
    if (isGroup(entry)) {
      subs.push(`    ${entry.name}) subs='${entry.commands.map((c) => c.name).join(' ')}' ;;`);
      for (const command of entry.commands) flagCase(`${entry.name} ${command.name}`, command);
    } else {
      flagCase(entry.name, entry);
    }
  }
  return `# bash completion for topoctl: source <(topoctl completion bash)
_topoctl() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" prev="\${COMP_WORDS[COMP_CWORD-1]}"
  local words=() i skip=0
  for ((i = 1; i < COMP_CWORD; i++)); do
    local w="\${COMP_WORDS[i]}"
    if ((skip)); then skip=0; continue; fi
    case "$w" in
      --*=*) ;;
      ${[...valueFlags].join('|')}) skip=1 ;;
      -*) ;;
      *) words+=("$w") ;;
    esac
  done
  case "$prev" in
    --type) COMPREPLY=($(compgen -W '${TABLET_TYPES.join(' ')}' -- "$cur")); return ;;
    --file|-f) COMPREPLY=($(compgen -f -- "$cur")); return ;;
  esac
  local subs=''
  case "\${words[0]}" in
${subs.join('\n')}
  esac
  if ((\${#words[@]} == 0)); then
    if [[ "$cur" == -* ]]; then COMPREPLY=($(compgen -W '${flagsOf(GLOBAL_OPTIONS).join(' ')}' -- "$cur")); return; fi
    COMPREPLY=($(compgen -W '${[...entries.map((e) => e.name), 'help'].join(' ')}' -- "$cur")); return
  fi
  if [[ -n "$subs" ]] && ((\${#words[@]} == 1)) && [[ "$cur" != -* ]]; then
    COMPREPLY=($(compgen -W "$subs" -- "$cur")); return
  fi
  local path="\${words[0]}"
  [[ -n "$subs" ]] && path="\${words[0]} \${words[1]}"
  local flags=''
  case "$path" in
${cases.join('\n')}
  esac
  [[ "$cur" == -* ]] && COMPREPLY=($(compgen -W "$flags" -- "$cur"))
  return 0
}
complete -o default -F _topoctl topoctl
`;
}

export function completionCommand(entries: () => CommandEntry[]): Command {
  return {
    name: 'completion',
    summary: 'Print a shell completion script (bash or zsh)',
    description: [
      'bash: source <(topoctl completion bash), or save it under /etc/bash_completion.d/topoctl.',
      'zsh:  source <(topoctl completion zsh) in ~/.zshrc (it uses zsh\'s bashcompinit).',
    ].join('\n'),
    args: [{ name: 'SHELL' }],
    examples: ['source <(topoctl completion bash)', 'topoctl completion zsh > ~/.zsh/topoctl.zsh'],
    async run(ctx) {
      const shell = ctx.args[0];
      const script = bashCompletion(entries());
      if (shell === 'bash') ctx.out.raw(Buffer.from(script));
      else if (shell === 'zsh') ctx.out.raw(Buffer.from(`# zsh completion for topoctl\nautoload -U +X bashcompinit && bashcompinit\n${script}`));
      else throw new UsageError(`SHELL ${JSON.stringify(shell)}: bash or zsh`);
    },
  };
}
