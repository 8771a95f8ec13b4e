// Ported from the keynote-2 harness of SpacetimeDB (templates/keynote-2/src/connectors/
// sqlite_common.ts, https://github.com/clockworklabs/SpacetimeDB, Apache License 2.0; see
// ./NOTICE). Changes: TypeScript types removed. The pragmas are the harness's, including
// `synchronous = MEMORY` in its default mode: MEMORY is no value of that pragma, SQLite
// falls back to NORMAL (1), which bench/keynote.py reads back and prints.
import path from 'path';
import fs from 'fs';

export function getSqliteMode() {
  switch ((process.env.SQLITE_MODE ?? 'realistic_cached').toLowerCase()) {
    case 'fastest':
      return 'fastest';
    case 'realistic_cached':
      return 'realistic_cached';
    case 'realistic_fast':
      return 'realistic_fast';
    case 'realistic':
      return 'realistic';
    case 'default':
      return 'default';
    case 'baseline':
      return 'baseline';
    default:
      return 'realistic_cached';
  }
}

export function applySqlitePragmas(db, mode) {
  switch (mode) {
    case 'fastest':
      db.pragma('journal_mode = MEMORY');
      db.pragma('synchronous = OFF');
      db.pragma('temp_store = MEMORY');
      db.pragma('cache_size = -64000');
      db.pragma('foreign_keys = OFF');
      break;
    case 'realistic_cached':
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = MEMORY');
      db.pragma('temp_store = MEMORY');
      db.pragma('cache_size = -64000');
      break;
    case 'realistic_fast':
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = NORMAL');
      db.pragma('temp_store = MEMORY');
      db.pragma('cache_size = -64000');
      break;
    case 'realistic':
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = FULL');
      break;
    case 'default':
      // leave engine defaults
      break;
    case 'baseline':
      db.pragma('journal_mode = DELETE');
      db.pragma('synchronous = FULL');
      break;
  }
}

export function ensureSqliteDirExistsSync(file, mode) {
  if (mode === 'fastest') return;
  const dir = path.dirname(file);
  fs.mkdirSync(dir, { recursive: true });
}
