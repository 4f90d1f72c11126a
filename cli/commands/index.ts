import type { Command } from 'commander';

/** Every command module registers itself here; one line each keeps `metamer --help` in sync. */
export function registerCommands(program: Command): void {
  void program;
}
