// The harness's Node + PostgreSQL RPC server, ported from the keynote-2 harness of
// SpacetimeDB (templates/keynote-2/src/rpc-servers/postgres-rpc-server.ts,
// https://github.com/clockworklabs/SpacetimeDB, Apache License 2.0; see ./NOTICE), with
// the harness's versions of `pg` (8.16.3) and drizzle-orm (0.44.7).
//
// Changes from the harness:
// - SERIALIZABLE: the harness starts its PostgreSQL with
//   `-c default_transaction_isolation=serializable`; bench/keynote.py sets the same default
//   on the benchmark's own database (ALTER DATABASE ... SET), leaving the shared server's
//   configuration alone. An `isolation` RPC answers the level the pool's sessions run at.
// - the retry counters: an `attempts` RPC answers how many transactions were retried
//   (onRetry of the harness's withTxnRetry) and how many gave up.
// - listens on 127.0.0.1 (PG_RPC_HOST) rather than every interface.
// - TypeScript types removed; MAX_POOL read directly (the harness's config default, 64);
//   no dotenv.
import http from 'node:http';
import pg from 'pg';
import { drizzle } from 'drizzle-orm/node-postgres';
import { pgTable, integer, bigint as pgBigint } from 'drizzle-orm/pg-core';
import { eq, inArray, sql } from 'drizzle-orm';
import { withTxnRetry } from './retry.mjs';

const { Pool } = pg;
const PG_URL = process.env.PG_URL;
if (!PG_URL) {
  throw new Error('PG_URL not set');
}

const poolMax = Number(process.env.MAX_POOL ?? 64);

const accounts = pgTable('accounts', {
  id: integer('id').primaryKey(),
  balance: pgBigint('balance', { mode: 'bigint' }).notNull(),
});

const pool = new Pool({
  connectionString: PG_URL,
  application_name: 'pg-rpc-drizzle',
  max: poolMax,
});

const db = drizzle(pool, { schema: { accounts } });

let retries = 0;
let exhausted = 0;

async function rpcTransfer(args) {
  const fromId = Number(args.from_id ?? args.from);
  const toId = Number(args.to_id ?? args.to);
  const amount = Number(args.amount);

  if (!Number.isInteger(fromId) || !Number.isInteger(toId) || !Number.isFinite(amount)) {
    throw new Error('invalid transfer args');
  }
  if (fromId === toId || amount <= 0) return;

  const delta = BigInt(amount);

  try {
    await withTxnRetry(
      () =>
        db.transaction(async (tx) => {
          const rows = await tx
            .select()
            .from(accounts)
            .where(inArray(accounts.id, [fromId, toId]))
            .for('update')
            .orderBy(accounts.id);

          if (rows.length !== 2) {
            throw new Error('account_missing');
          }

          const [first, second] = rows;
          const fromRow = first.id === fromId ? first : second;
          const toRow = first.id === fromId ? second : first;

          if (fromRow.balance < delta) {
            return;
          }

          await tx
            .update(accounts)
            .set({ balance: fromRow.balance - delta })
            .where(eq(accounts.id, fromId));

          await tx
            .update(accounts)
            .set({ balance: toRow.balance + delta })
            .where(eq(accounts.id, toId));
        }),
      { onRetry: () => retries++ },
    );
  } catch (err) {
    if (err?.name === 'RetryExhaustedError') exhausted++;
    throw err;
  }
}

async function rpcGetAccount(args) {
  const id = Number(args.id);
  if (!Number.isInteger(id)) throw new Error('invalid id');

  const rows = await db.select().from(accounts).where(eq(accounts.id, id)).limit(1);

  if (rows.length === 0) return null;
  const row = rows[0];
  return {
    id: row.id,
    balance: row.balance.toString(),
  };
}

async function rpcVerify() {
  const rawInitial = process.env.SEED_INITIAL_BALANCE;
  if (!rawInitial) {
    console.warn('[pg-rpc] SEED_INITIAL_BALANCE not set; skipping verify');
    return { skipped: true };
  }

  let initial;
  try {
    initial = BigInt(rawInitial);
  } catch {
    throw new Error(`invalid SEED_INITIAL_BALANCE=${rawInitial}`);
  }

  const result = await db.execute(
    sql`
      SELECT
        COUNT(*)::bigint AS count,
        COALESCE(SUM("balance"), 0)::bigint AS total,
        SUM(
          CASE WHEN "balance" != ${initial}::bigint THEN 1 ELSE 0 END
        )::bigint AS changed
      FROM ${accounts}
    `,
  );

  const row = result.rows[0];

  const count = BigInt(row.count);
  const total = BigInt(row.total);
  const changed = BigInt(row.changed);
  const expected = initial * count;

  if (count === 0n) throw new Error('verify failed: accounts=0');
  if (total !== expected) {
    throw new Error(`verify failed: accounts=${count} total=${total} expected=${expected}`);
  }
  if (changed === 0n) {
    throw new Error('verify failed: total preserved but no balances changed');
  }

  return {
    accounts: count.toString(),
    total: total.toString(),
    changed: changed.toString(),
  };
}

async function rpcIsolation() {
  const result = await db.execute(sql`SHOW transaction_isolation`);
  return { transaction_isolation: result.rows[0]?.transaction_isolation, pool_max: poolMax };
}

async function handleRpc(body) {
  const name = body?.name;
  const args = body?.args ?? {};

  if (!name) return { ok: false, error: 'missing name' };

  try {
    switch (name) {
      case 'health':
        return { ok: true, result: { status: 'ok' } };
      case 'transfer':
        await rpcTransfer(args);
        return { ok: true };
      case 'getAccount':
        return { ok: true, result: await rpcGetAccount(args) };
      case 'verify':
        return { ok: true, result: await rpcVerify() };
      case 'isolation':
        return { ok: true, result: await rpcIsolation() };
      case 'attempts':
        return { ok: true, result: { retries, exhausted } };
      default:
        return { ok: false, error: `unknown method: ${name}` };
    }
  } catch (err) {
    console.error('Error while handling RPC request:', err);
    return { ok: false, error: 'internal server error' };
  }
}

const port = Number(process.env.PG_RPC_PORT ?? 4101);
const host = process.env.PG_RPC_HOST ?? '127.0.0.1';

const server = http.createServer((req, res) => {
  const url = new URL(req.url ?? '/', `http://${req.headers.host}`);

  if (req.method === 'POST' && url.pathname === '/rpc') {
    let buf = '';
    req.on('data', (chunk) => {
      buf += chunk;
    });
    req.on('end', async () => {
      let body;
      try {
        body = JSON.parse(buf);
      } catch {
        res.statusCode = 400;
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ ok: false, error: 'invalid json' }));
        return;
      }

      const rsp = await handleRpc(body);
      res.statusCode = rsp.ok ? 200 : 500;
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify(rsp));
    });
    return;
  }

  if (req.method === 'GET' && url.pathname === '/') {
    res.statusCode = 200;
    res.end('pg drizzle rpc server');
    return;
  }

  res.statusCode = 404;
  res.end('not found');
});

server.listen(port, host, () => {
  console.log(`pg drizzle rpc server listening on http://${host}:${port}`);
});
