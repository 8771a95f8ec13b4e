// The part of better-sqlite3's API that the keynote-2 harness's Node + SQLite server uses
// (directly and through drizzle-orm's `drizzle-orm/better-sqlite3` driver), implemented on
// Node's built-in `node:sqlite` (DatabaseSync, Node >= 22.5).
//
// Why: better-sqlite3 is a native addon; its install downloads a prebuilt binary from
// GitHub or compiles SQLite with node-gyp, and neither works on a machine that reaches only
// the package registries. node:sqlite is the same SQLite C library behind the same kind of
// synchronous API (prepare / run / all / get), so the server, its drizzle queries, its
// transactions and its pragmas stay those of the harness. bench/keynote/package.json maps
// the name `better-sqlite3` to this folder (`file:`), so the harness's
// `import Database from 'better-sqlite3'` and drizzle's driver load it unchanged.
//
// Covered: new Database(file), db.prepare(sql) -> statement with run/all/get/raw(),
// db.exec, db.pragma, db.transaction(fn) with .deferred/.immediate/.exclusive, db.close.
// Not covered (unused by the harness): nested transactions as savepoints, user functions,
// backups, iterators, BigInt mode.
import { DatabaseSync } from 'node:sqlite';

class Statement {
  constructor(db, sql) {
    this.stmt = db.prepare(sql);
    this.rawMode = false;
  }

  raw(toggle = true) {
    this.rawMode = toggle;
    this.stmt.setReturnArrays(toggle);
    return this;
  }

  run(...params) {
    const info = this.stmt.run(...params);
    return {
      changes: Number(info.changes),
      lastInsertRowid: info.lastInsertRowid,
    };
  }

  all(...params) {
    return this.stmt.all(...params);
  }

  get(...params) {
    return this.stmt.get(...params);
  }
}

export default class Database {
  constructor(filename = ':memory:') {
    this.db = new DatabaseSync(filename);
    this.inTransaction = false;
  }

  prepare(sql) {
    return new Statement(this.db, sql);
  }

  exec(sql) {
    this.db.exec(sql);
    return this;
  }

  // better-sqlite3: db.pragma('journal_mode = WAL') runs `PRAGMA journal_mode = WAL` and
  // returns the rows it yields.
  pragma(source) {
    return this.db.prepare(`PRAGMA ${source}`).all();
  }

  // better-sqlite3: db.transaction(fn) is a function that runs fn between BEGIN and
  // COMMIT (ROLLBACK if it throws); .deferred/.immediate/.exclusive choose the BEGIN.
  transaction(fn) {
    const wrap = (begin) => (...args) => {
      this.db.exec(begin);
      this.inTransaction = true;
      try {
        const result = fn(...args);
        this.db.exec('COMMIT');
        return result;
      } catch (err) {
        if (this.db.isTransaction) this.db.exec('ROLLBACK');
        throw err;
      } finally {
        this.inTransaction = false;
      }
    };
    const run = wrap('BEGIN');
    run.deferred = wrap('BEGIN DEFERRED');
    run.immediate = wrap('BEGIN IMMEDIATE');
    run.exclusive = wrap('BEGIN EXCLUSIVE');
    return run;
  }

  close() {
    this.db.close();
    return this;
  }
}
