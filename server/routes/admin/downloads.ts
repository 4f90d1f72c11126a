/** Files an experimenter downloads: payments, the recognizability table and figure, the trials. */
import type { Router } from 'express';
import { psychDsDataFile, psychDsDataset, psychDsZip } from '../../../analysis/psych-ds.ts';
import { resultsToJson, resultToMarkdown, tableToCsv } from '../../../analysis/report-format.ts';
import { loadTrialsExport, trialsToCsv } from '../../../analysis/trials-export.ts';
import { paymentsCsv } from '../../dashboard/payments-page.ts';
import { paymentsWithFlags } from '../../session-quality.ts';
import { type AdminContext, attachment, publicBase } from './context.ts';

export function downloadRoutes(prot: Router, ctx: AdminContext): void {
  const { store } = ctx.deps;

  prot.get('/studies/:id/payments.csv', async (req, res) => {
    const study = await ctx.studyOf(req);
    attachment(res, `${study.id}_payments.csv`, 'text/csv; charset=utf-8', paymentsCsv(await paymentsWithFlags(store, study)));
  });

  prot.get('/studies/:id/figure.svg', async (req, res) => {
    const study = await ctx.studyOf(req);
    const p = await ctx.progress.progress(study, publicBase(req));
    // The page's figure goes with the page's (possibly slightly older) table.
    const { version, flags } = await ctx.analysisInputs(study, p);
    const svg = await ctx.analyses.figure(await ctx.analyses.get(study.id, version, true, flags));
    if (svg === null) return void res.status(404).type('text').send('No participant is included yet: there is no figure.\n');
    res.set('Cache-Control', 'private, max-age=3600').type('image/svg+xml').send(svg);
  });

  prot.get('/studies/:id/recognizability.csv', async (req, res) => {
    const { study, result } = await ctx.analysisOf(req);
    attachment(res, `${study.id}_recognizability.csv`, 'text/csv; charset=utf-8', tableToCsv(result.table));
  });
  prot.get('/studies/:id/recognizability.json', async (req, res) => {
    const { study, result } = await ctx.analysisOf(req);
    attachment(res, `${study.id}_recognizability.json`, 'application/json; charset=utf-8', resultsToJson([result]));
  });
  prot.get('/studies/:id/recognizability.md', async (req, res) => {
    const { study, result } = await ctx.analysisOf(req);
    attachment(res, `${study.id}_recognizability.md`, 'text/markdown; charset=utf-8', resultToMarkdown(result));
  });

  prot.get('/studies/:id/trials.csv', async (req, res) => {
    const study = await ctx.studyOf(req);
    attachment(res, `${study.id}_trials.csv`, 'text/csv; charset=utf-8', trialsToCsv(await loadTrialsExport(store.studyData, study.id)));
  });

  prot.get('/studies/:id/psych-ds.zip', async (req, res) => {
    const study = await ctx.studyOf(req);
    const folder = psychDsDataFile(study.id)
      .replace(/^data\//, '')
      .replace(/_data\.csv$/, '');
    attachment(
      res,
      `${folder}_psych-ds.zip`,
      'application/zip',
      psychDsZip(psychDsDataset(await loadTrialsExport(store.studyData, study.id)), folder),
    );
  });
}
