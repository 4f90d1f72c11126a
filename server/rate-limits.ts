/**
 * Rate limits on the routes that create things. A participant starts a session once per page
 * load; a whole lab behind one NAT address may start several a minute, so the limit is generous
 * and configurable (METAMER_SESSION_STARTS_PER_MINUTE). Limits count per client address, which is
 * only right behind a proxy if `trust proxy` is set (proxy-trust.ts).
 *
 * Counts live in each server process: N instances behind a round-robin proxy give an address up
 * to N times the budget (docs/deploying.md says why that is acceptable for these limits).
 */
import { rateLimit } from 'express-rate-limit';
import { envNumber } from './env-number.ts';

const startsPerMinute = () => envNumber('METAMER_SESSION_STARTS_PER_MINUTE', 30, 1);

function perAddressPerMinute(limit: number, error: string) {
  return rateLimit({
    windowMs: 60_000,
    limit,
    standardHeaders: 'draft-8',
    legacyHeaders: false,
    message: { error, code: 'rate_limited' },
  });
}

export function sessionStartLimit(perMinute = startsPerMinute()) {
  return perAddressPerMinute(perMinute, 'Too many attempts to start a session from this address; please wait a minute and reload.');
}

/**
 * Turn-away reports (the device check, before a session): one per page load that is turned away
 * instead of starting a session, so the same allowance per address as session starts. Each
 * pseudonymous participant is counted once anyway; this bounds what one address can add.
 */
export function turnAwayLimit(perMinute = startsPerMinute()) {
  return perAddressPerMinute(perMinute, 'Too many reports from this address; please wait a minute.');
}
