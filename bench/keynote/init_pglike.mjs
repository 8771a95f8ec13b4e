// Ported from the keynote-2 harness of SpacetimeDB (templates/keynote-2/src/init/
// init_pglike.ts, https://github.com/clockworklabs/SpacetimeDB, Apache License 2.0; see
// ./NOTICE): the `prep` step of the Node + PostgreSQL target. Changes: TypeScript types
// removed; no waitFor / PlanetScale TLS (a local server); a command-line entry point
// (PG_URL, SEED_ACCOUNTS, SEED_INITIAL_BALANCE).
import pg from 'pg';

export async function initPgLike(url, label, seedConfig) {
  const { accounts, initialBalance } = seedConfig;

  console.log(`\n[${label}] init @ ${url}`);

  const client = new pg.Client({ connectionString: url });

  await client.connect();

  await client.query(`
    CREATE TABLE IF NOT EXISTS accounts (
                                          id INT PRIMARY KEY,
                                          balance BIGINT NOT NULL
    );
  `);

  // reset
  await client.query(`TRUNCATE TABLE accounts;`);

  // seed
  await client.query(
    `
      INSERT INTO accounts(id, balance)
      SELECT g, $1 FROM generate_series(0, $2) AS g;
    `,
    [initialBalance, accounts - 1],
  );

  await client.end();
  console.log(`[${label}] ready`);
}

await initPgLike(process.env.PG_URL, 'postgres', {
  accounts: Number(process.env.SEED_ACCOUNTS ?? 100_000),
  initialBalance: Number(process.env.SEED_INITIAL_BALANCE ?? 1_000_000_000),
});
