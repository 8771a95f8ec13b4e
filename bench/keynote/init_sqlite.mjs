// Ported from the keynote-2 harness of SpacetimeDB (templates/keynote-2/src/init/
// init_sqlite.ts, https://github.com/clockworklabs/SpacetimeDB, Apache License 2.0; see
// ./NOTICE): the `prep` step of the Node + SQLite target. Changes: TypeScript types
// removed, a command-line entry point (SQLITE_FILE, SEED_ACCOUNTS, SEED_INITIAL_BALANCE).
// `better-sqlite3` is bench/keynote/better-sqlite3-on-node-sqlite (node:sqlite).
import Database from 'better-sqlite3';
import path from 'path';
import fs from 'fs';

export function initSqlite(file, seedConfig) {
  const { accounts, initialBalance } = seedConfig;
  console.log(`\n[sqlite] init @ ${file}`);

  fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });

  const db = new Database(file);

  db.exec(`BEGIN TRANSACTION;`);

  db.exec(`
    CREATE TABLE IF NOT EXISTS accounts(
      id INTEGER PRIMARY KEY,
      balance INTEGER NOT NULL
    );

    -- Hard reset
    DELETE FROM accounts;

    -- Efficiently insert test data
    WITH RECURSIVE c(x) AS (
      SELECT 0
      UNION ALL
      SELECT x + 1 FROM c LIMIT ${accounts}
    )
    INSERT INTO accounts(id, balance)
    SELECT x, ${initialBalance} FROM c;
  `);

  db.exec(`COMMIT;`);
  db.close();

  console.log(`[sqlite] ready`);
}

initSqlite(process.env.SQLITE_FILE ?? './.data/accounts.sqlite', {
  accounts: Number(process.env.SEED_ACCOUNTS ?? 100_000),
  initialBalance: Number(process.env.SEED_INITIAL_BALANCE ?? 1_000_000_000),
});
