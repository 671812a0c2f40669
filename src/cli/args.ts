import { ConfigError } from '../errors.ts';
import { COMMANDS } from './spec.ts';

/** One flag of a command: `--kebab-name`, stored under its camelCase name. */
export interface FlagSpec {
  readonly type: 'string' | 'boolean';
  /** Repeatable (collected into an array). */
  readonly multiple?: boolean;
  /** `--no-<name>` allowed (booleans that default to true). */
  readonly negatable?: boolean;
  readonly help: string;
}

/** A command: its flags, and its positional words (e.g. `pipeline get`). */
export interface CommandSpec {
  readonly summary: string;
  readonly usage: string;
  readonly flags: Readonly<Record<string, FlagSpec>>;
  /** Allowed sub-commands (first positional), if any. */
  readonly subcommands?: readonly string[];
}

/** What the parser returns: the command path and the raw option values (validated later with zod). */
export interface ParsedCommandLine {
  readonly command: string;
  readonly subcommand?: string;
  readonly options: Record<string, unknown>;
}

const camel = (kebab: string) => kebab.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());

/**
 * Parses `argv` (without node and script) against the command table. Unknown commands and
 * flags, missing values and stray words are ConfigErrors that name them and suggest the
 * closest valid spelling.
 */
export function parseArgv(argv: readonly string[], commands: Readonly<Record<string, CommandSpec>>): ParsedCommandLine {
  const [command, ...rest] = argv;
  if (!command || command === '--help' || command === '-h' || command === 'help') return { command: 'help', options: {} };
  if (command === '--version' || command === '-v') return { command: 'version', options: {} };
  const spec = commands[command];
  if (!spec) throw new ConfigError('BAD_COMMAND', `unknown command "${command}"${suggest(command, Object.keys(commands))}; run edgelake --help`);
  let subcommand: string | undefined;
  const options: Record<string, unknown> = {};
  for (let i = 0; i < rest.length; i++) {
    const tok = rest[i];
    if (tok === '--help' || tok === '-h') return { command: 'help', subcommand: command, options: {} };
    if (!tok.startsWith('--')) {
      if (spec.subcommands && subcommand === undefined) {
        if (!spec.subcommands.includes(tok)) {
          throw new ConfigError('BAD_COMMAND', `unknown "${command} ${tok}"${suggest(tok, spec.subcommands)}; valid: ${spec.subcommands.join(', ')}`);
        }
        subcommand = tok;
        continue;
      }
      throw new ConfigError('BAD_OPTION', `unexpected argument "${tok}" for ${command}; options start with --`);
    }
    const eq = tok.indexOf('=');
    let name = tok.slice(2, eq < 0 ? undefined : eq);
    let inline: string | undefined = eq < 0 ? undefined : tok.slice(eq + 1);
    let flag = spec.flags[name];
    let negated = false;
    if (!flag && name.startsWith('no-') && spec.flags[name.slice(3)]?.negatable) {
      name = name.slice(3);
      flag = spec.flags[name];
      negated = true;
    }
    if (!flag) {
      // `--no-db`, `--no-once`: name the real flag, so the message says what to change.
      const base = name.startsWith('no-') ? spec.flags[name.slice(3)] : undefined;
      const hint = !base
        ? suggest(name, Object.keys(spec.flags), '--')
        : base.type === 'boolean'
          ? ` (--${name.slice(3)} cannot be negated: it is off unless given)`
          : ` (--${name.slice(3)} takes a value: give one or leave the flag out)`;
      throw new ConfigError('BAD_OPTION', `unknown option --${name} for ${command}${hint}`);
    }
    const key = camel(name);
    if (flag.type === 'boolean') {
      if (inline !== undefined) {
        if (!/^(true|false|1|0)$/.test(inline)) throw new ConfigError('BAD_OPTION', `--${name} takes no value or true/false, got "${inline}"`);
        options[key] = (inline === 'true' || inline === '1') !== negated;
      } else options[key] = !negated;
      continue;
    }
    if (negated) throw new ConfigError('BAD_OPTION', `--no-${name} is not an option; --${name} takes a value`);
    if (inline === undefined) {
      inline = rest[++i];
      if (inline === undefined || (inline.startsWith('--') && inline.length > 2)) {
        throw new ConfigError('BAD_OPTION', `--${name} needs a value`);
      }
    }
    if (flag.multiple) ((options[key] ??= []) as string[]).push(inline);
    else {
      if (key in options) throw new ConfigError('BAD_OPTION', `--${name} given twice`);
      options[key] = inline;
    }
  }
  if (spec.subcommands && subcommand === undefined) {
    throw new ConfigError('BAD_COMMAND', `${command} needs one of: ${spec.subcommands.join(', ')} (e.g. edgelake ${command} ${spec.subcommands[0]})`);
  }
  return { command, subcommand, options };
}

function suggest(word: string, candidates: readonly string[], prefix = ''): string {
  let best = '';
  let bestD = Infinity;
  for (const c of candidates) {
    const d = distance(word, c);
    if (d < bestD) [best, bestD] = [c, d];
  }
  return best && bestD <= Math.max(2, Math.floor(word.length / 3)) ? ` (did you mean ${prefix}${best}?)` : '';
}

function distance(a: string, b: string): number {
  const dp = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = dp[0];
    dp[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = dp[j];
      dp[j] = Math.min(dp[j] + 1, dp[j - 1] + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return dp[b.length];
}

/** Parses a full `edgelake …` command line against the CLI's command table. */
export function parseCommandLine(argv: readonly string[]): ParsedCommandLine {
  return parseArgv(argv, COMMANDS);
}
