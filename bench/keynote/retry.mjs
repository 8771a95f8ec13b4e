// Ported from the keynote-2 harness of SpacetimeDB (templates/keynote-2/src/rpc-servers/
// retry.ts, https://github.com/clockworklabs/SpacetimeDB, Apache License 2.0; see
// ./NOTICE). Changes: TypeScript types removed.

// Retry serialization (40001), deadlock (40P01), lock-not-available (55P03).
const RETRYABLE_SQLSTATES = new Set(['40001', '40P01', '55P03']);

export class RetryExhaustedError extends Error {
  constructor(attempts, lastError) {
    const cause = lastError?.message ?? String(lastError);
    super(`retry exhausted after ${attempts} attempts: ${cause}`);
    this.attempts = attempts;
    this.lastError = lastError;
    this.name = 'RetryExhaustedError';
  }
}

function getSqlstate(err) {
  let cursor = err;
  for (let i = 0; i < 5 && cursor; i++) {
    const code = cursor.code;
    if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) return code;
    cursor = cursor.cause ?? cursor.originalError ?? cursor.innerError ?? null;
  }
  return undefined;
}

function isRetryable(err) {
  const code = getSqlstate(err);
  return code !== undefined && RETRYABLE_SQLSTATES.has(code);
}

export async function withTxnRetry(fn, options = {}) {
  const maxAttempts = options.maxAttempts ?? 10;
  const baseDelayMs = options.baseDelayMs ?? 5;
  const maxDelayMs = options.maxDelayMs ?? 200;

  let lastError;
  for (let attempt = 1; attempt <= maxAttempts; attempt++) {
    try {
      return await fn();
    } catch (err) {
      lastError = err;
      if (!isRetryable(err)) throw err;
      if (attempt === maxAttempts) throw new RetryExhaustedError(attempt, err);
      options.onRetry?.(attempt, err);
      const cap = Math.min(maxDelayMs, baseDelayMs * 2 ** attempt);
      const delay = Math.floor(Math.random() * cap);
      if (delay > 0) await new Promise((r) => setTimeout(r, delay));
    }
  }
  throw new RetryExhaustedError(maxAttempts, lastError);
}
