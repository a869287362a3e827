/**
 * Types of the part of better-sqlite3 v12 that Concord uses. The package ships no types and
 * `@types/better-sqlite3` is not installed yet; when it is, delete this file (its shapes are a
 * subset of those, with the same names: `Database.Database` is the type of an open database).
 */
declare module 'better-sqlite3' {
  namespace Database {
    interface Options {
      /** Open read-only. */
      readonly?: boolean;
      /** Throw instead of creating a missing file. */
      fileMustExist?: boolean;
      /** How long to wait for a locked database, in ms (default 5000). */
      timeout?: number;
    }

    interface RunResult {
      changes: number;
      lastInsertRowid: number | bigint;
    }

    interface Statement<P extends unknown[] = unknown[]> {
      run(...params: P): RunResult;
      get(...params: P): unknown;
      all(...params: P): unknown[];
    }

    interface Transaction<F extends (...args: never[]) => unknown> {
      (...args: Parameters<F>): ReturnType<F>;
      /** The same transaction opened with BEGIN IMMEDIATE (takes the write lock at once). */
      immediate(...args: Parameters<F>): ReturnType<F>;
      deferred(...args: Parameters<F>): ReturnType<F>;
      exclusive(...args: Parameters<F>): ReturnType<F>;
    }

    interface Database {
      readonly open: boolean;
      readonly inTransaction: boolean;
      readonly name: string;
      prepare<P extends unknown[] = unknown[]>(source: string): Statement<P>;
      exec(source: string): this;
      pragma(source: string, options?: { simple?: boolean }): unknown;
      transaction<F extends (...args: never[]) => unknown>(fn: F): Transaction<F>;
      close(): this;
    }

    interface DatabaseConstructor {
      new (filename: string, options?: Options): Database;
      (filename: string, options?: Options): Database;
    }
  }

  const Database: Database.DatabaseConstructor;
  export = Database;
}
