import { COMMANDS } from './spec.ts';

/** Help for the whole CLI, or for one command. */
export function helpText(command?: string): string {
  const spec = command ? COMMANDS[command] : undefined;
  if (!spec) {
    const names = Object.entries(COMMANDS).map(([n, s]) => `  ${n.padEnd(10)} ${s.summary}`);
    return `edgelake — edge-to-lakehouse sensor pipeline\n\nUsage: edgelake <command> [options]\n\nCommands:\n${names.join('\n')}\n\nRun edgelake <command> --help for its options. Exit codes: 0 ok, 1 runtime failure (nothing lost), 2 bad usage or configuration.\n`;
  }
  const flags = Object.entries(spec.flags).map(([n, f]) => {
    const name = f.type === 'string' ? `--${n} <value>` : f.negatable ? `--[no-]${n}` : `--${n}`;
    return `  ${name.padEnd(28)} ${f.help}${f.multiple ? ' (repeatable)' : ''}`;
  });
  return `${spec.summary}\n\nUsage: ${spec.usage}\n\nOptions:\n${flags.join('\n')}\n`;
}
