import type { Command } from 'commander';
import { register as admin } from './admin.ts';
import { register as analyze } from './analyze.ts';
import { register as db } from './db.ts';
import { register as exportTrials } from './export.ts';
import { register as prolific } from './prolific.ts';
import { register as schemas } from './schemas.ts';
import { register as serve } from './serve.ts';
import { register as stimuli } from './stimuli.ts';
import { register as study } from './study.ts';

/** Every command module registers itself here; one line each keeps `metamer --help` in sync. */
export function registerCommands(program: Command): void {
  serve(program);
  stimuli(program);
  study(program);
  schemas(program);
  analyze(program);
  exportTrials(program);
  admin(program);
  db(program);
  prolific(program);
}
