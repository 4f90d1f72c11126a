import type { Command } from 'commander';
import { register as analyze } from './analyze.ts';
import { register as exportTrials } from './export.ts';
import { register as stimuli } from './stimuli.ts';

/** Every command module registers itself here; one line each keeps `metamer --help` in sync. */
export function registerCommands(program: Command): void {
  stimuli(program);
  analyze(program);
  exportTrials(program);
}
