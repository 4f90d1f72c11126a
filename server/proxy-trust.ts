/**
 * Which proxies to believe about the client's address (X-Forwarded-For), for rate limits and
 * logs. Off by default: behind no proxy, trusting the header would let anyone pick their own
 * address and walk around every limit. Behind nginx on the same machine: `loopback`; behind a
 * load balancer: its subnet or the number of hops. Passed to Express's `trust proxy` as is.
 */
export type TrustProxy = boolean | number | string;

export function trustProxySetting(value = process.env.METAMER_TRUST_PROXY): TrustProxy {
  if (value === undefined || value === '' || value === 'false' || value === '0') return false;
  if (value === 'true') return true;
  if (/^\d+$/.test(value)) return Number(value);
  return value;
}
