/**
 * The CLI's commands, each loaded only when it runs, so that `metamer` answers in a blink
 * (start-up figures and their command in docs/benchmarks.md).
 *
 * THE PATTERN (every command, new ones too):
 * 1. One line in COMMANDS below: the command's name, the one-line summary `metamer --help` lists,
 *    and `load: () => import('./<module>.ts')`. Only the module of the command being run is
 *    imported (`metamer analyze --help` loads analyze.ts and what it imports, never the server's
 *    esbuild or vega); `metamer --help` imports none.
 * 2. The module exports `register(program)`, which declares the command, its options and its
 *    action. Its static imports load whenever that command runs, `--help` included: keep them to
 *    what the command's options and actions need, and import what only one action needs and is
 *    heavy (vega, esbuild, the whole server) inside that action with `await import(...)`.
 * test/unit/cli-startup.test.ts checks both: each summary is the module's description, and
 * `metamer analyze --help` loads none of esbuild, vega, vega-lite.
 */
import type { Command } from 'commander';

export interface CommandEntry {
  name: string;
  summary: string;
  load: () => Promise<{ register: (program: Command) => void }>;
}

export const COMMANDS: CommandEntry[] = [
  { name: 'serve', summary: 'run the server (participant pages, stimuli, API)', load: () => import('./serve.ts') },
  { name: 'stimuli', summary: 'import, validate and list stimulus sets', load: () => import('./stimuli.ts') },
  { name: 'study', summary: 'create, launch, pause, close and inspect studies', load: () => import('./study.ts') },
  { name: 'schemas', summary: 'write JSON Schemas of manifest.json and study configs', load: () => import('./schemas.ts') },
  {
    name: 'analyze',
    summary: "recognizability per model and layer, with exclusions, CIs, the paper's statistics and a figure",
    load: () => import('./analyze.ts'),
  },
  {
    name: 'anova',
    summary: 'repeated-measures ANOVA of a tidy CSV (one row per subject × cell), with sphericity corrections and permutation tests',
    load: () => import('./anova.ts'),
  },
  {
    name: 'export',
    summary: "export a study's trials (pseudonymous) as CSV, JSON or a Psych-DS dataset",
    load: () => import('./export.ts'),
  },
  { name: 'admin', summary: 'the experimenter dashboard: admin token and log-ins', load: () => import('./admin.ts') },
  { name: 'db', summary: 'back up the database, or copy a SQLite database into PostgreSQL', load: () => import('./db.ts') },
  {
    name: 'prolific',
    summary: 'link a study to Prolific, keep submissions in step, approve and pay bonuses (needs PROLIFIC_API_TOKEN)',
    load: () => import('./prolific.ts'),
  },
];

/** The command named on the command line (after the program's own options), if any. */
export function commandName(program: Command, args: readonly string[]): string | undefined {
  const takesValue = new Set(program.options.filter((o) => o.required || o.optional).flatMap((o) => [o.long, o.short]));
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--') return args[i + 1];
    if (!a.startsWith('-')) return a === 'help' ? (args.slice(i + 1).find((x) => !x.startsWith('-')) ?? a) : a;
    if (takesValue.has(a)) i++;
  }
  return undefined;
}

/** Registers the command being run; with none (or an unknown one) lists them all without loading any. */
export async function registerCommands(program: Command, args: readonly string[]): Promise<void> {
  const name = commandName(program, args);
  const entry = COMMANDS.find((c) => c.name === name);
  if (entry) return (await entry.load()).register(program);
  for (const c of COMMANDS) program.command(c.name).description(c.summary);
}
