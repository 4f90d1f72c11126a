import type { Command } from 'commander';
import { register as stimuli } from './stimuli.ts';

/** Every command module registers itself here; one line each keeps `metamer --help` in sync. */
export function registerCommands(program: Command): void {
  stimuli(program);
}
