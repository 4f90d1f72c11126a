/**
 * Participant exclusions (issue 4): incomplete sessions, screened-out sessions, sessions with
 * quality flags (analysis/quality-flags.ts), catch-trial accuracy and natural-condition accuracy
 * below thresholds. Rules come from the study config and can be
 * overridden on the CLI; each excluded participant is reported once, under the first rule (in the
 * order below) that excludes them, so that the counts add up.
 */
import { z } from 'zod';
import { describeFlags, type QualityFlag } from './quality-flags.ts';
import { isNaturalCondition, type StudyCounts } from './study-counts.ts';

/**
 * The study config's `exclusions` block (server/study-config.ts uses this schema): defined here
 * because analysis/ must not import server/.
 */
export const ExclusionRules = z.strictObject({
  incomplete: z.boolean().default(true),
  screened_out: z.boolean().default(true),
  /** Exclude participants whose session has any quality flag (off by default: a flag is evidence to review). */
  flagged: z.boolean().default(false),
  /** Exclude participants whose catch-trial accuracy is below this (0 disables). */
  catch_min_accuracy: z.number().min(0).max(1).default(0),
  /** Exclude participants whose natural-condition accuracy is below this (0 disables). */
  natural_min_accuracy: z.number().min(0).max(1).default(0),
});
export type ExclusionRules = z.output<typeof ExclusionRules>;

export const DEFAULT_EXCLUSIONS: ExclusionRules = ExclusionRules.parse({});

export type ExclusionRule = 'screened_out' | 'incomplete' | 'flagged' | 'catch_accuracy' | 'natural_accuracy';

/** Quality flags by participant id, for the `flagged` rule (a participant without an entry has none). */
export type ParticipantFlags = ReadonlyMap<string, readonly QualityFlag[]>;

export interface ExcludedParticipant {
  participant_id: string;
  rule: ExclusionRule;
  detail: string;
}

export interface ExclusionReport {
  rules: ExclusionRules;
  participants_total: number;
  participants_included: number;
  /** Excluded participants per rule (first failing rule only). */
  counts: Record<ExclusionRule, number>;
  excluded: ExcludedParticipant[];
  /** Why a rule could not be applied, or who it could not judge. */
  notes: string[];
}

export interface ExclusionResult {
  /** 1 = included, per participant of the counts. */
  included: Uint8Array;
  report: ExclusionReport;
}

export function applyExclusions(counts: StudyCounts, rules: ExclusionRules, flags?: ParticipantFlags): ExclusionResult {
  const P = counts.participants.length;
  const C = counts.conditions.length;
  const included = new Uint8Array(P).fill(1);
  const excluded: ExcludedParticipant[] = [];
  const tally: Record<ExclusionRule, number> = { screened_out: 0, incomplete: 0, flagged: 0, catch_accuracy: 0, natural_accuracy: 0 };
  const notes: string[] = [];
  const naturalCol = counts.conditions.findIndex(isNaturalCondition);
  const hasStates = counts.states.some((s) => s !== null);
  if ((rules.incomplete || rules.screened_out) && !hasStates && P > 0) {
    notes.push('session states are unknown (no session_state column), so the incomplete and screened-out rules were not applied');
  }
  if (rules.flagged && !flags && P > 0) {
    notes.push('quality flags are unknown for this input (they come from the platform database), so the flagged rule was not applied');
  }
  if (rules.natural_min_accuracy > 0 && naturalCol < 0) {
    notes.push('there is no natural condition, so the natural-accuracy rule was not applied');
  }
  let noCatch = 0;
  let noNatural = 0;

  const exclude = (p: number, rule: ExclusionRule, detail: string): void => {
    included[p] = 0;
    tally[rule]++;
    excluded.push({ participant_id: counts.participants[p]!, rule, detail });
  };

  for (let p = 0; p < P; p++) {
    const state = counts.states[p];
    if (rules.screened_out && state === 'screened_out') {
      exclude(p, 'screened_out', 'failed the screening trials');
      continue;
    }
    if (rules.incomplete && (state === 'started' || state === 'abandoned')) {
      exclude(p, 'incomplete', `session ${state}, not completed`);
      continue;
    }
    const flagged = rules.flagged ? flags?.get(counts.participants[p]!) : undefined;
    if (flagged && flagged.length > 0) {
      exclude(p, 'flagged', describeFlags(flagged));
      continue;
    }
    if (rules.catch_min_accuracy > 0) {
      const n = counts.catchTotal[p]!;
      if (n === 0) noCatch++;
      else {
        const acc = counts.catchCorrect[p]! / n;
        if (acc < rules.catch_min_accuracy) {
          exclude(p, 'catch_accuracy', `catch accuracy ${counts.catchCorrect[p]}/${n} = ${acc.toFixed(3)} < ${rules.catch_min_accuracy}`);
          continue;
        }
      }
    }
    if (rules.natural_min_accuracy > 0 && naturalCol >= 0) {
      const n = counts.total[p * C + naturalCol]!;
      if (n === 0) noNatural++;
      else {
        const k = counts.correct[p * C + naturalCol]!;
        const acc = k / n;
        if (acc < rules.natural_min_accuracy) {
          exclude(p, 'natural_accuracy', `natural accuracy ${k}/${n} = ${acc.toFixed(3)} < ${rules.natural_min_accuracy}`);
        }
      }
    }
  }
  if (noCatch > 0) notes.push(`${noCatch} participant(s) had no catch trials and were not judged by the catch-accuracy rule`);
  if (noNatural > 0) notes.push(`${noNatural} participant(s) had no natural main trials and were not judged by the natural-accuracy rule`);
  if (counts.previewTrials > 0) notes.push(`${counts.previewTrials} trial(s) of experimenter previews were left out`);

  let nIncluded = 0;
  for (let p = 0; p < P; p++) nIncluded += included[p]!;
  return {
    included,
    report: {
      rules,
      participants_total: P,
      participants_included: nIncluded,
      counts: tally,
      excluded,
      notes,
    },
  };
}
