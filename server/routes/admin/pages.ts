/** The dashboard's HTML pages and their live parts (the client polls `…/live` for fresh HTML). */
import type { Router } from 'express';
import { ZodError } from 'zod';
import { configFromForm, blankForm, fieldOfPath, FormError, NewStudyForm } from '../../dashboard/new-study-form.ts';
import { configIssues } from '../../config-errors.ts';
import { StudyConfigInput } from '../../study-config.ts';
import { newStudyPage } from '../../dashboard/new-study-page.ts';
import { paymentsPage } from '../../dashboard/payments-page.ts';
import { studiesPage, studiesTable } from '../../dashboard/studies-page.ts';
import { studyBody, studyHead, studyPage, type StudyPageNotice } from '../../dashboard/study-page.ts';
import { isExposed } from '../../http-error.ts';
import { paymentsWithFlags } from '../../session-quality.ts';
import { changeStudyStatus, createStudy } from '../../studies.ts';
import { type AdminContext, studyUrl } from './context.ts';

const NOTICES: Record<string, StudyPageNotice> = {
  created: { kind: 'ok', text: 'Study created.' },
  launch: { kind: 'ok', text: 'The study is live: paste the URL below into Prolific.' },
  pause: { kind: 'info', text: 'Paused: new participants are turned away; those in a session may finish.' },
  close: { kind: 'info', text: 'Closed: no new participants; those in a session may finish.' },
};

export function pageRoutes(prot: Router, ctx: AdminContext): void {
  const { store, sessions, bundle } = ctx.deps;
  const listItems = async () =>
    Promise.all((await store.listStudies()).map(async (study) => ({ study, counts: await store.countSessions(study.id) })));

  prot.get('/', async (req, res) => {
    const notice = typeof req.query.notice === 'string' ? req.query.notice.slice(0, 200) : undefined;
    res.type('html').send(studiesPage(bundle, await listItems(), notice));
  });

  prot.get('/live', async (_req, res) => {
    res.json({ parts: { list: studiesTable(await listItems()).value } });
  });

  prot.get('/studies/new', async (_req, res) => {
    res.type('html').send(newStudyPage(bundle, await store.listStimulusSets(), blankForm()));
  });

  prot.post('/studies', ctx.forms, ctx.json, async (req, res) => {
    if (req.is('application/json')) {
      // The JSON API: the body is a study config, as in `metamer study create <config.json>`.
      const row = await createStudy(store, req.body);
      return void res.status(201).json({ id: row.id, status: row.status });
    }
    const sets = await store.listStimulusSets();
    const form = NewStudyForm.parse(req.body ?? {});
    try {
      let row = await createStudy(store, configFromForm(form, sets));
      if (form.launch) row = await changeStudyStatus(store, row.id, 'launch');
      sessions.forget(row.id);
      res.redirect(303, studyUrl(row.id, '?done=created'));
    } catch (e) {
      let problems: { field: string; message: string }[];
      if (e instanceof FormError) problems = e.problems;
      else if (e instanceof ZodError) {
        const issues = configIssues(e.issues, StudyConfigInput);
        problems = issues.map((i) => ({ field: fieldOfPath(i.path), message: `${i.path.join('.') || 'config'}: ${i.message}` }));
      } else if (isExposed(e)) problems = [{ field: 'general', message: e.message }];
      else throw e;
      res
        .status(422)
        .type('html')
        .send(newStudyPage(bundle, sets, form, problems));
    }
  });

  prot.get('/studies/:id', async (req, res) => {
    const study = await ctx.studyOf(req);
    let notice: StudyPageNotice | undefined;
    const done = typeof req.query.done === 'string' ? req.query.done : undefined;
    if (done && NOTICES[done]) notice = NOTICES[done];
    if (done === 'sweep') notice = { kind: 'info', text: `Idle sessions checked: ${Number(req.query.n) || 0} marked abandoned.` };
    if (req.query.preview === 'completed')
      notice = { kind: 'ok', text: 'Your preview run is complete. It is not counted, and participants never see it.' };
    if (req.query.preview === 'screened_out')
      notice = { kind: 'info', text: 'Your preview run ended at the screening (below the threshold). It is not counted.' };
    res.type('html').send(studyPage(bundle, await ctx.studyView(req, study), notice));
  });

  prot.get('/studies/:id/live', async (req, res) => {
    const v = await ctx.studyView(req, await ctx.studyOf(req));
    res.json({ parts: { head: studyHead(v).value, body: studyBody(v).value } });
  });

  prot.get('/studies/:id/payments', async (req, res) => {
    const study = await ctx.studyOf(req);
    res.type('html').send(paymentsPage(bundle, study, await paymentsWithFlags(store, study)));
  });
}
