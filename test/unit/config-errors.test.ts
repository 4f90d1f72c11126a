/**
 * Config mistakes as a person makes them: a misspelt key is named with the key it most likely
 * meant, a JSON syntax error by line and column; one study-id rule for the config, the CLI and
 * the dashboard form. The CLI's own messages and exit codes are checked on the real command.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configIssueLines, jsonSyntaxError, lineAndColumn, suggestKey } from '../../server/config-errors.ts';
import { Protocol, STUDY_ID_PATTERN, StudyConfig, StudyConfigInput, StudyId } from '../../server/study-config.ts';
import os from 'node:os';

const base = {
  id: 'study',
  stimulus_set: 'set',
  modality: 'image',
  prolific: { completion_code: 'A', screenout_code: 'B' },
  target_completed: 4,
};

function lines(input: unknown): string[] {
  const r = StudyConfig.safeParse(input);
  if (r.success) return [];
  return configIssueLines(r.error.issues, StudyConfigInput);
}

describe('config issues', () => {
  it('names a misspelt key with the key it meant, at the top level and inside objects', () => {
    const { stimulus_set: _, ...rest } = base;
    expect(lines({ ...rest, stimulus_sett: 'set' })).toEqual(['(top level): unknown key "stimulus_sett" (did you mean "stimulus_set"?)']);
    expect(lines({ ...base, protocol: { practise_trials: 2 } })).toEqual([
      'protocol: unknown key "practise_trials" (did you mean "practice_trials"?)',
    ]);
    expect(lines({ ...base, timming: {} })).toEqual(['(top level): unknown key "timming" (did you mean "timing"?)']);
    expect(lines({ ...base, prolific: { ...base.prolific, completion_cod: 'X' } })).toEqual([
      'prolific: unknown key "completion_cod" (did you mean "completion_code"?)',
    ]);
    expect(lines({ ...base, device: { min_screen_widht: 800 } })).toEqual([
      'device: unknown key "min_screen_widht" (did you mean "min_screen_width"?)',
    ]);
    expect(lines({ ...base, conditions: { models: [{ model: 'm', layer: ['a'] }] } })).toEqual([
      'conditions.models.0: unknown key "layer" (did you mean "layers"?)',
    ]);
  });

  it('lists the known keys when nothing is close, and keeps the other problems', () => {
    const out = lines({ ...base, id: 'Bad_C', protocol: { zebra: 1 } });
    expect(out[0]).toBe(`protocol: unknown key "zebra" (known keys: ${Object.keys(Protocol.shape).join(', ')})`);
    expect(out[0]).toContain('practice_trials, ');
    expect(out[1]).toMatch(/^id: lower-case letters, digits and "-"/);
    expect(suggestKey('seeds', ['seed', 'title'])).toBe('seed');
    expect(suggestKey('speed_ms', ['seed', 'title'])).toBeUndefined();
  });

  it('reports JSON syntax errors by line and column', () => {
    expect(jsonSyntaxError('{"a": 1}')).toBeNull();
    expect(jsonSyntaxError('{\n  "a": 1,\n}\n')).toBe('line 2, column 9: a comma before "}" (JSON allows no trailing comma)');
    expect(jsonSyntaxError('{\n  "a" 1\n}')).toBe('line 2, column 7: expected ":" after the property name');
    expect(jsonSyntaxError('{\n  "a": tru\n}')).toBe('line 2, column 8: unexpected "tru"');
    expect(jsonSyntaxError("{\n  'a': 1\n}")).toMatch(/^line 2, column 3: /);
    expect(jsonSyntaxError('{\n  "a": 1\n  "b": 2\n}')).toBe('line 3, column 3: expected "," between entries');
    expect(jsonSyntaxError('{"a": [1, 2')).toMatch(/^line 1, column 12: .*\(the file ends here\)$/);
    expect(lineAndColumn('ab\ncd', 4)).toEqual({ line: 2, column: 2 });
  });
});

describe('one study-id rule', () => {
  const good = ['a', 'demo-image', 'resnet50-vision-1', 'x'.repeat(64)];
  const bad = ['Bad_C', 'UPPER', 'with.dot', '-lead', 'trail-', 'sp ace', '', 'x'.repeat(65), 'ünï'];

  it('the config schema and the form pattern (as browsers compile it, with the v flag) agree', () => {
    const form = new RegExp(`^(?:${STUDY_ID_PATTERN})$`, 'v');
    for (const id of good) expect([id, StudyId.safeParse(id).success, form.test(id)]).toEqual([id, true, true]);
    for (const id of bad) expect([id, StudyId.safeParse(id).success, form.test(id)]).toEqual([id, false, false]);
  });
});

describe('the CLI', () => {
  const bin = path.resolve(import.meta.dirname, '../../bin/metamer.js');
  const dir = { path: '' };
  beforeAll(() => {
    dir.path = fs.mkdtempSync(path.join(os.tmpdir(), 'metamer-config-'));
  });
  afterAll(() => {
    if (dir.path) fs.rmSync(dir.path, { recursive: true, force: true });
  });
  const metamer = (...args: string[]) =>
    spawnSync(process.execPath, [bin, '--db', path.join(dir.path, 'data', 'metamer.db'), ...args], { cwd: dir.path, encoding: 'utf8' });

  it('study create: exit 1 with the misspelt key and its suggestion, or the JSON line and column', () => {
    const { stimulus_set: _, ...rest } = base;
    const misspelt = path.join(dir.path, 'misspelt.json');
    fs.writeFileSync(misspelt, JSON.stringify({ ...rest, id: 'Bad_C', stimulus_sett: 'set' }, null, 2));
    const r = metamer('study', 'create', misspelt);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`${misspelt}: (top level): unknown key "stimulus_sett" (did you mean "stimulus_set"?)`);
    expect(r.stderr).toContain(`${misspelt}: id: lower-case letters`);
    // The consequence of the misspelling is not reported as a second, confusing problem.
    expect(r.stderr).not.toContain('expected string, received undefined');

    const broken = path.join(dir.path, 'broken.json');
    fs.writeFileSync(broken, '{\n  "id": "x",\n  "modality": "image",\n}\n');
    const b = metamer('study', 'create', broken);
    expect(b.status).toBe(1);
    expect(b.stderr.trim()).toBe(
      `metamer: ${broken}: not valid JSON: line 3, column 22: a comma before "}" (JSON allows no trailing comma)`,
    );
  });

  it('study init refuses an id the rule forbids, before looking anything up', () => {
    const r = metamer('study', 'init', 'no-such-set', '--id', 'Bad_C');
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^metamer: --id "Bad_C": lower-case letters/);
  });
});
