#!/usr/bin/env -S node --max-semi-space-size=4 --heap-growing-percent=150
import { ConfigError, PipelineError, messageOf } from '../errors.ts';
import { redact } from '../redact.ts';
import { pipelineVersion } from '../meta/version.ts';
import { parseCommandLine } from './args.ts';
import { helpText } from './help.ts';

/**
 * The `edgelake` command. Exit codes (contract §3): 0 success; 2 bad usage or configuration;
 * 1 runtime failure (the checkpoint did not move, so nothing was lost).
 */
async function main(argv: string[]): Promise<number> {
  const cmd = parseCommandLine(argv);
  if (cmd.command === 'run' || cmd.command === 'reprocess') {
    (await import('../encode/igzip.ts')).checkGzipEnvironment();
    if (cmd.command === 'run') (await import('../source/native-columns.ts')).checkReaderEnvironment();
    // Before any batch buffer is allocated, so none of them is kept by an arena (src/cli/malloc.ts).
    (await import('./malloc.ts')).tuneMalloc();
  }
  switch (cmd.command) {
    case 'help':
      process.stdout.write(helpText(cmd.subcommand));
      return 0;
    case 'version':
      process.stdout.write(pipelineVersion() + '\n');
      return 0;
    case 'run':
      return (await import('./commands/run.ts')).runCommand(cmd.options);
    case 'reprocess':
      return (await import('./commands/reprocess.ts')).reprocessCommand(cmd.options);
    case 'pipeline':
      return (await import('./commands/pipeline.ts')).pipelineCommand(cmd.subcommand!, cmd.options);
    case 'state':
      return (await import('./commands/state.ts')).stateCommand(cmd.subcommand!, cmd.options);
    case 'simulate':
      return (await import('./commands/simulate.ts')).simulateCommand(cmd.options);
    case 'query':
      return (await import('./commands/query.ts')).queryCommand(cmd.options);
    case 'dashboard':
      return (await import('./commands/dashboard.ts')).dashboardCommand(cmd.options);
    case 'demo':
      return (await import('./commands/demo.ts')).demoCommand(cmd.options);
    default:
      throw new ConfigError('BAD_COMMAND', `command "${cmd.command}" is not implemented`);
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    if (err instanceof ConfigError) {
      process.stderr.write(`edgelake: ${redact(err.message)}\n`);
      process.exitCode = 2;
    } else if (err instanceof PipelineError) {
      process.stderr.write(`edgelake: ${redact(err.message)}\n`);
      process.exitCode = 1;
    } else {
      process.stderr.write(`edgelake: unexpected failure: ${redact(messageOf(err))}\n${redact((err as Error)?.stack ?? '')}\n`);
      process.exitCode = 1;
    }
  },
);
