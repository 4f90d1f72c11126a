/**
 * The dashboard's side of the Prolific loop (docs/prolific.md): link a study, sync it now, and
 * approve from the payments view in two steps (choose, confirm). Thin: parse, call
 * server/prolific/, render. Calls to Prolific need PROLIFIC_API_TOKEN; without it they answer a
 * 4xx saying so, and the pages show the stored state.
 */
import type { Request, Router } from 'express';
import { z } from 'zod';
import { approvePage, confirmPage, resultPage } from '../../dashboard/prolific-approve-page.ts';
import { wantsJson } from '../../error-handler.ts';
import { userError } from '../../http-error.ts';
import { ProlificClient } from '../../prolific/client.ts';
import { linkStudy } from '../../prolific/link.ts';
import { storedOverview } from '../../prolific/overview.ts';
import { reconcile } from '../../prolific/reconcile.ts';
import { approveSubmissions } from '../../prolific/review.ts';
import { syncStudy } from '../../prolific/sync.ts';
import { type AdminContext, studyUrl } from './context.ts';

const LinkForm = z.object({ prolific_study_id: z.string().trim().min(1, 'give the Prolific study id') });

const ApproveForm = z.object({
  step: z.enum(['confirm', 'approve']).default('confirm'),
  participant: z
    .union([z.string(), z.array(z.string())])
    .optional()
    .transform((v) => (v === undefined ? [] : Array.isArray(v) ? v : [v]))
    .pipe(z.array(z.string().regex(/^p[0-9a-f]{20}$/, 'not a participant id')).max(5000)),
  dry_run: z.boolean().optional(),
});

export function prolificRoutes(prot: Router, ctx: AdminContext): void {
  const { store, bundle, logger } = ctx.deps;

  const approvePageData = async (studyId: string, error?: string) => {
    const submissions = await store.prolificSubmissions(studyId);
    const rec = reconcile(await store.prolificSessions(studyId), submissions);
    return { overview: await storedOverview(store, studyId), unmatched: rec.submissionsWithoutSession, error };
  };

  prot.get('/api/studies/:id/prolific', async (req, res) => {
    const study = await ctx.studyOf(req);
    res.json(await storedOverview(store, study.id));
  });

  prot.post('/studies/:id/prolific/link', ctx.forms, ctx.json, async (req, res) => {
    const study = await ctx.studyOf(req);
    const form = LinkForm.parse(req.body ?? {});
    const r = await linkStudy(store, ProlificClient.fromEnv(), study.id, form.prolific_study_id);
    logger.info({ study: study.id, prolific_study: r.link.prolific_study_id }, 'study linked to Prolific');
    if (wantsJson(req)) return void res.json(r);
    res.redirect(303, studyUrl(study.id, '#prolific'));
  });

  prot.post('/studies/:id/prolific/sync', async (req, res) => {
    const study = await ctx.studyOf(req);
    const r = await syncStudy(store, ProlificClient.fromEnv(), study.id);
    logger.info({ study: study.id, listed: r.listed, released: r.released.length }, 'prolific sync');
    if (wantsJson(req)) return void res.json({ listed: r.listed, released: r.released, synced_at: r.synced_at });
    res.redirect(303, studyUrl(study.id, '#prolific'));
  });

  prot.get('/studies/:id/prolific/approve', async (req, res) => {
    const study = await ctx.studyOf(req);
    res.type('html').send(approvePage(bundle, study, await approvePageData(study.id)));
  });

  prot.post('/studies/:id/prolific/approve', ctx.forms, ctx.json, async (req: Request, res) => {
    const study = await ctx.studyOf(req);
    const form = ApproveForm.parse(req.body ?? {});
    if (wantsJson(req)) {
      // The JSON API approves in one call (or a dry run): the confirm step is the caller's.
      if (form.participant.length === 0) throw userError('name the participants to approve', 422);
      const r = await approveSubmissions(store, ProlificClient.fromEnv(), study.id, {
        participants: form.participant,
        dryRun: form.dry_run,
      });
      return void res.json(r);
    }
    if (form.participant.length === 0) {
      return void res
        .status(422)
        .type('html')
        .send(approvePage(bundle, study, await approvePageData(study.id, 'Tick at least one session to approve.')));
    }
    if (form.step === 'confirm') {
      const o = await storedOverview(store, study.id);
      const chosen = o.review.filter((r) => form.participant.includes(r.participant_id));
      if (chosen.length !== form.participant.length) {
        const error = 'Some ticked sessions no longer await review; look again.';
        return void res
          .status(409)
          .type('html')
          .send(approvePage(bundle, study, await approvePageData(study.id, error)));
      }
      return void res.type('html').send(confirmPage(bundle, study, chosen));
    }
    const r = await approveSubmissions(store, ProlificClient.fromEnv(), study.id, { participants: form.participant });
    logger.info({ study: study.id, approved: r.approved.length, failed: r.failed.length }, 'prolific approvals');
    res.type('html').send(resultPage(bundle, study, r));
  });
}
