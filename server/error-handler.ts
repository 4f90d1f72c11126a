/**
 * The one Express error handler, for the participant app and the dashboard alike. What the client
 * got wrong (an HttpError, a user error, a body-parser 4xx, a zod refusal) is answered with its
 * status and reason; anything else is a bug: logged once, answered 500 with no detail. JSON for
 * API calls, an HTML page (when the mount gives a renderer) for everything a browser navigates to.
 */
import type { ErrorRequestHandler, Request } from 'express';
import type { Logger } from 'pino';
import { ZodError } from 'zod';
import { HttpError, isExposed } from './http-error.ts';
import { redactPath } from './log-redaction.ts';

export interface ErrorPage {
  status: number;
  heading: string;
  message: string;
}

export interface ErrorHandlerOptions {
  logger: Logger;
  /** Renders a page for a browser; without it every answer is JSON. */
  html?: (req: Request, page: ErrorPage) => string;
  /** The log line's message for a 500. */
  what?: string;
}

export function wantsJson(req: Request): boolean {
  return req.is('application/json') === 'application/json' || req.accepts(['html', 'json']) === 'json';
}

export function errorHandler(opts: ErrorHandlerOptions): ErrorRequestHandler {
  return (err, req, res, next) => {
    if (res.headersSent) return next(err);
    const e = err as { status?: number; statusCode?: number; type?: string; message?: string; expose?: boolean };
    let status = e.status ?? e.statusCode ?? 500;
    let message: string;
    let code: string;
    if (err instanceof HttpError) {
      ({ status } = err);
      message = err.message;
      code = err.code;
    } else if (err instanceof ZodError) {
      status = 422;
      message = err.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; ');
      code = 'invalid';
    } else if (isExposed(err) || (status >= 400 && status < 500)) {
      // body-parser's own errors (bad JSON, too large, bad charset) carry `expose` and a `type`.
      message = e.expose || isExposed(err) ? (e.message ?? 'bad request') : 'bad request';
      code = e.type ?? (status === 404 ? 'not_found' : 'bad_request');
      if (status >= 500) status = 422;
    } else {
      status = 500;
      message = 'Internal error; the request can be retried. The error was logged.';
      code = 'internal';
      // The path may hold a session's bearer token: it is logged redacted.
      opts.logger.error({ err, method: req.method, path: redactPath(req.originalUrl) }, opts.what ?? 'request failed');
    }
    if (err instanceof HttpError && (!opts.html || wantsJson(req) || req.path.startsWith('/api/'))) {
      return void res.status(status).json(err.body());
    }
    if (!opts.html || wantsJson(req) || req.path.startsWith('/api/')) return void res.status(status).json({ error: message, code });
    const heading = status === 404 ? 'Not found' : status >= 500 ? 'Something went wrong' : 'That did not work';
    res.status(status).type('html').send(opts.html(req, { status, heading, message }));
  };
}
