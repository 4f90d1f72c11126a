/** The "new study" page: a study config as a form (the JSON config file's twin, `metamer study create`). */
import type { StimulusSetSummary } from '../store/stimulus-sets.ts';
import type { DashboardBundle } from './bundle.ts';
import { html, type SafeHtml } from './html.ts';
import { flash, page } from './layout.ts';
import type { NewStudyForm } from './new-study-form.ts';
import { STUDY_ID_PATTERN } from '../study-config.ts';

export interface FormProblem {
  field: string;
  message: string;
}

export function newStudyPage(
  bundle: DashboardBundle,
  sets: readonly StimulusSetSummary[],
  form: NewStudyForm,
  problems: readonly FormProblem[] = [],
): string {
  const errorOf = (field: string) => problems.filter((p) => p.field === field).map((p) => p.message);
  const invalid = (field: string) => (errorOf(field).length ? html` aria-invalid="true" aria-describedby="${field}-error"` : '');
  const fieldError = (field: string): SafeHtml | '' => {
    const msgs = errorOf(field);
    return msgs.length ? html`<p class="field-error" id="${field}-error">${msgs.join('; ')}</p>` : '';
  };
  const text = (
    field: keyof NewStudyForm & string,
    label: string,
    opts: { hint?: string; placeholder?: string; type?: string; required?: boolean; pattern?: string; cls?: string } = {},
  ) =>
    html`<div class="field ${opts.cls ?? ''}">
  <label for="f-${field}">${label}</label>
  <input id="f-${field}" name="${field}" type="${opts.type ?? 'text'}" value="${form[field] ?? ''}"${opts.placeholder ? html` placeholder="${opts.placeholder}"` : ''}${opts.required ? html` required` : ''}${opts.pattern ? html` pattern="${opts.pattern}"` : ''}${invalid(field)}>
  ${opts.hint ? html`<p class="hint">${opts.hint}</p>` : ''}${fieldError(field)}
</div>`;

  const summary = problems.length
    ? flash(
        'error',
        html`<strong>The study was not created.</strong><ul>${problems.map((p) => html`<li>${p.field === 'general' ? '' : html`<span class="mono">${p.field}</span>: `}${p.message}</li>`)}</ul>`,
      )
    : '';
  const options = sets.map(
    (s) =>
      html`<option value="${s.name}"${s.name === form.stimulus_set ? html` selected` : ''}>${s.name} — ${s.modality}, ${s.sources} sources, ${s.categories} categories, ${s.conditions} conditions</option>`,
  );
  const body =
    sets.length === 0
      ? html`<div class="empty card"><h2>No stimulus set imported</h2><p>Import one first: <code>npx metamer stimuli import &lt;dir&gt; --name &lt;set&gt;</code>.</p></div>`
      : html`${summary}
<form method="post" action="/admin/studies" class="form form-wide" novalidate>
  <section class="card">
    <h2>Study</h2>
    <div class="field">
      <label for="f-stimulus_set">Stimulus set</label>
      <select id="f-stimulus_set" name="stimulus_set" required${invalid('stimulus_set')}>
        <option value="">Choose a set…</option>${options}
      </select>${fieldError('stimulus_set')}
    </div>
    <div class="field-row">
      ${text('id', 'Study id', { required: true, placeholder: 'e.g. resnet50-vision-1', hint: 'Lower-case letters, digits and inner dashes; part of the participant URL.', pattern: STUDY_ID_PATTERN })}
      ${text('title', 'Title shown to participants', { hint: 'Also the exported dataset’s name. Blank: participants see a neutral heading and exports use the study id.' })}
    </div>
  </section>
  <section class="card">
    <h2>Prolific</h2>
    <div class="field-row">
      ${text('target_completed', 'Target completed participants', { type: 'number', required: true, hint: 'New participants are turned away once this many have completed.' })}
      ${text('abandon_after_minutes', 'Abandon after (minutes without a trial)', { type: 'number', hint: 'The session gives its Latin-square slot back; a late trial is still stored.' })}
    </div>
    <div class="field-row">
      ${text('completion_code', 'Completion code', { required: true, cls: 'mono-input', hint: 'As set on Prolific.' })}
      ${text('screenout_code', 'Screen-out code', { required: true, cls: 'mono-input', hint: 'For participants below the screening threshold.' })}
    </div>
    ${text('complete_url', 'Completion URL', { placeholder: 'https://app.prolific.com/submissions/complete', hint: '?cc=<code> is appended. Blank: Prolific’s.' })}
  </section>
  <section class="card">
    <h2>Protocol <span class="muted small">blank = the paper’s default for the set’s modality</span></h2>
    <div class="field-row field-row-5">
      ${text('practice_trials', 'Practice trials', { type: 'number', placeholder: 'image 16 · audio 10' })}
      ${text('screening_trials', 'Screening trials', { type: 'number', placeholder: '12' })}
      ${text('screening_min_correct', 'Min. correct to pass', { type: 'number', placeholder: 'image 7 · audio 5' })}
      ${text('catch_trials', 'Catch trials', { type: 'number', placeholder: '16' })}
      ${text('main_sources', 'Main sources', { placeholder: 'all' })}
    </div>
    <div class="field">
      <label for="f-advanced">More settings (JSON, merged over the fields above)</label>
      <textarea id="f-advanced" name="advanced" rows="4" class="mono" spellcheck="false" placeholder='{"timing": {"stimulus_ms": 300}, "conditions": {"models": [{"model": "resnet50", "layers": ["layer4"]}]}}'${invalid('advanced')}>${form.advanced}</textarea>
      <p class="hint">Any field of a study config file (<code>npx metamer schemas</code> writes its JSON Schema).</p>${fieldError('advanced')}
    </div>
  </section>
  <div class="form-actions">
    <label class="check"><input type="checkbox" name="launch" value="on"${form.launch ? html` checked` : ''}> Launch at once</label>
    <button type="submit" class="btn btn-primary">Create study</button>
  </div>
</form>`;
  return page({
    title: 'New study',
    bundle,
    loggedIn: true,
    nav: 'new',
    body: html`<div class="page-head"><div><div class="crumbs"><a href="/admin">Studies</a> <span aria-hidden="true">/</span> new</div><h1>New study</h1><p class="muted">The same as <code>npx metamer study create &lt;config.json&gt;</code>.</p></div></div>
${body}`,
  });
}
