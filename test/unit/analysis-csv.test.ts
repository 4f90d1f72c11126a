/**
 * The trials CSV loader: the minimal contract, defaults, study splitting, prediction columns, and
 * every kind of bad input reported with file, line and column.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyzeCounts } from '../../analysis/analyze.ts';
import { loadPredictionsCsv, loadTrialsCsv } from '../../analysis/load-trials-csv.ts';

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'analysis-csv-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function write(name: string, text: string): string {
  const f = path.join(dir, name);
  fs.writeFileSync(f, text);
  return f;
}

describe('loadTrialsCsv', () => {
  it('reads the minimal columns, defaulting phase to main and the study id to the file name', async () => {
    const f = write('pilot-a.csv', 'participant_id,model,layer,correct\np1,,natural,1\np1,m,L1,0\np2,,natural,0\np2,m,L1,1\n');
    const [s] = await loadTrialsCsv(f);
    expect(s!.counts.study_id).toBe('pilot-a');
    expect(s!.counts.participants).toEqual(['p1', 'p2']);
    expect(s!.counts.states).toEqual([null, null]);
    expect(s!.counts.conditions).toEqual([
      { model: '', layer: 'natural', layer_index: 0 },
      { model: 'm', layer: 'L1', layer_index: 1 },
    ]);
    expect(Array.from(s!.counts.correct)).toEqual([1, 0, 0, 1]);
    expect(Array.from(s!.counts.total)).toEqual([1, 1, 1, 1]);
    const [named] = await loadTrialsCsv(f, { studyId: 'x' });
    expect(named!.counts.study_id).toBe('x');
  });

  it('splits studies by study_id, honours phase, preview and session_state, and accepts a BOM and quotes', async () => {
    const f = write(
      'multi.csv',
      '\ufeffstudy_id,participant_id,session_state,preview,phase,model,layer,layer_index,correct,response\n' +
        's1,p1,completed,0,main,,natural,0,1,"bear, brown"\n' +
        's1,p1,completed,0,catch,,natural,0,0,x\n' +
        's1,p1,completed,0,practice,,natural,0,0,x\n' +
        's1,pv,completed,1,main,,natural,0,0,x\n' +
        's2,q1,abandoned,0,main,m,deep,4,1,x\n',
    );
    const studies = await loadTrialsCsv(f);
    expect(studies.map((s) => s.counts.study_id)).toEqual(['s1', 's2']);
    const [s1, s2] = studies;
    expect(s1!.counts.participants).toEqual(['p1']);
    expect(Array.from(s1!.counts.catchTotal)).toEqual([1]);
    expect(s1!.counts.previewTrials).toBe(1);
    expect(s2!.counts.states).toEqual(['abandoned']);
    expect(s2!.counts.conditions[0]!.layer_index).toBe(4);
  });

  it('turns prediction columns into observer counts', async () => {
    const f = write(
      'preds.csv',
      'participant_id,stimulus_id,category,model,layer,layer_index,correct,model_prediction,prediction_m,prediction_n,model_correct_k\n' +
        'p1,s1,bear,m,L1,1,1,bear,,,\n' + // generating model m right
        'p1,s2,bear,m,L1,1,0,dog,,,\n' + // m wrong
        'p1,s3,dog,,natural,0,1,,dog,cat,1\n', // natural: m right, n wrong, k right (explicit)
    );
    const [s] = await loadTrialsCsv(f);
    const C = s!.counts.conditions.length;
    const col = (model: string, layer: string) => s!.counts.conditions.findIndex((c) => c.model === model && c.layer === layer);
    const m = s!.counts.network.get('m')!;
    expect(m.correct[col('m', 'L1')]).toBe(1);
    expect(m.total[col('m', 'L1')]).toBe(2);
    expect(m.correct[col('', 'natural')]).toBe(1);
    expect(s!.counts.network.get('n')!.correct[col('', 'natural')]).toBe(0);
    expect(s!.counts.network.get('k')!.total[col('', 'natural')]).toBe(1);
    expect(C).toBe(2);
    expect(s!.stimuli.get('s2')).toEqual({ category: 'bear', model: 'm', layer: 'L1', layer_index: 1 });
  });

  const bad: [string, string, RegExp][] = [
    [
      'missing-col.csv',
      'participant_id,model,correct\np,,1\n',
      /missing-col\.csv: missing column "layer" \(required: participant_id, model, layer, correct\)/,
    ],
    ['dup.csv', 'participant_id,model,layer,correct,model\np,,natural,1,\n', /dup\.csv: column "model" appears twice in the header/],
    [
      'bad-correct.csv',
      'participant_id,model,layer,correct\np,,natural,1\np,,natural,yes\n',
      /bad-correct\.csv: line 3, column "correct": /,
    ],
    ['bad-phase.csv', 'participant_id,phase,model,layer,correct\np,warmup,,natural,1\n', /bad-phase\.csv: line 2, column "phase": /],
    [
      'natural-model.csv',
      'participant_id,model,layer,correct\np,m,natural,1\n',
      /natural-model\.csv: line 2, column "model": must be empty for layer "natural"/,
    ],
    ['bad-index.csv', 'participant_id,model,layer,layer_index,correct\np,m,L1,one,1\n', /bad-index\.csv: line 2, column "layer_index": /],
    [
      'clash.csv',
      'participant_id,model,layer,layer_index,correct\np,m,L1,1,1\np,m,L1,2,1\n',
      /clash\.csv: line 3: layer_index of m\/L1 is 2 here but 1 in earlier trials/,
    ],
    ['quote.csv', 'participant_id,model,layer,correct\np,,natural,1\np,"unclosed,natural,1\n', /quote\.csv: line \d+: /],
    ['ragged.csv', 'participant_id,model,layer,correct\np,,natural,1,extra\n', /ragged\.csv: line 2: /],
    ['header-only.csv', 'participant_id,model,layer,correct\n', /header-only\.csv: no trials/],
    ['empty.csv', '', /empty\.csv: empty file/],
  ];
  for (const [name, text, message] of bad) {
    it(`reports ${name.replace('.csv', '')} with file and line`, async () => {
      await expect(loadTrialsCsv(write(name, text))).rejects.toThrow(message);
      await expect(loadTrialsCsv(write(name, text))).rejects.toMatchObject({ expose: true });
    });
  }

  it('names a missing file', async () => {
    await expect(loadTrialsCsv(path.join(dir, 'nope.csv'))).rejects.toThrow(/nope\.csv: no such file/);
  });

  it('gives analyzeCounts what it needs', async () => {
    const f = write('tiny.csv', 'participant_id,model,layer,correct\np1,,natural,1\np1,,natural,0\np2,,natural,1\n');
    const [s] = await loadTrialsCsv(f);
    const r = analyzeCounts(s!.counts, { bootstrap: 0, choices: 2 });
    // p1: 1/2, p2: 1/1 → mean 0.75.
    expect(r.table[0]!.recognizability).toBe(0.75);
    expect(r.table[0]!.chance).toBe(0.5);
  });
});

describe('loadPredictionsCsv', () => {
  it('reads stimulus_id, observer_model, predicted_category', async () => {
    const f = write('p.csv', 'stimulus_id,observer_model,predicted_category\ns1,alexnet,bear\ns2,vgg,\n');
    expect(await loadPredictionsCsv(f)).toEqual([
      { stimulus_id: 's1', observer_model: 'alexnet', predicted_category: 'bear' },
      { stimulus_id: 's2', observer_model: 'vgg', predicted_category: '' },
    ]);
  });

  it('names missing columns and empty ids', async () => {
    await expect(loadPredictionsCsv(write('p2.csv', 'stimulus_id,model,predicted_category\n'))).rejects.toThrow(
      /p2\.csv: missing column "observer_model"/,
    );
    await expect(loadPredictionsCsv(write('p3.csv', 'stimulus_id,observer_model,predicted_category\n,alexnet,bear\n'))).rejects.toThrow(
      /p3\.csv: line 2, column "stimulus_id": must not be empty/,
    );
  });
});
