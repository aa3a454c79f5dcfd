import type { Compilable, CompiledQuery, Kysely, QueryResult } from 'kysely';
import type { Database } from './schema';

/** A value slot of a statement under construction; see {@link compiledStatement}. */
class Slot {
  constructor(readonly index: number) {}
}

/** Where each compiled parameter comes from: a constant of the statement, or argument `index`. */
type ParameterSource = { readonly constant: unknown } | { readonly argument: number };

/** A database or one of its transactions. */
type Executor = Kysely<Database>;

/** Runs one statement on a database or inside a transaction. */
export type CompiledStatement<Args extends readonly unknown[], Row> = (db: Executor, ...args: Args) => Promise<QueryResult<Row>>;

/**
 * A statement of a fixed shape whose values change from call to call (a look-up by key, a one-row
 * insert), built by Kysely's builder and compiled ONCE per dialect, then run with each call's
 * values. Building and compiling a statement costs far more than running a prepared one on SQLite
 * (some 15–20 µs against 2 µs for a look-up by key), and the API's hot paths run the same few
 * shapes all day; the store keeps the compiled text prepared.
 *
 * `build` is called on first use (per dialect) with a placeholder in place of each value it
 * declares after the database. It must put each placeholder exactly where that value goes, and
 * only as a value: not in `sql.raw`, an identifier or a `limit` chosen by it, never to choose the
 * statement's shape (an `in` list's length, an optional `where`). The compiled parameters are
 * kept with the position of each placeholder; a call substitutes its arguments there. A
 * placeholder that does not end up as a parameter fails the first call. On a handle with plugins
 * (the store has none; tests add one to record statements) the statement is built per call.
 */
export function compiledStatement<Args extends readonly unknown[], Row>(
  build: (db: Executor, ...args: Args) => Compilable<Row>,
): CompiledStatement<Args, Row> {
  return compiledWithArity(build.length - 1, build);
}

/**
 * {@link compiledStatement} for a statement of one row of `columns` (a one-row insert): `build`
 * gets a row of placeholders, a call the row. A row with other columns than these is refused.
 */
export function compiledRowStatement<Row extends object, Result>(
  columns: ReadonlyArray<keyof Row & string>,
  build: (db: Executor, row: Row) => Compilable<Result>,
): (db: Executor, row: Row) => Promise<QueryResult<Result>> {
  const statement = compiledWithArity<unknown[], Result>(columns.length, (db, ...slots) =>
    build(db, Object.fromEntries(columns.map((column, i) => [column, slots[i]])) as Row),
  );
  return (db, row) => {
    if (Object.keys(row).length !== columns.length || !columns.every((column) => column in row)) {
      return Promise.reject(
        new Error(`compiledRowStatement: the row has columns ${Object.keys(row).join(', ')}, the statement ${columns.join(', ')}`),
      );
    }
    return statement(db, ...columns.map((column) => (row as Record<string, unknown>)[column]));
  };
}

function compiledWithArity<Args extends readonly unknown[], Row>(
  arity: number,
  build: (db: Executor, ...args: Args) => Compilable<Row>,
): CompiledStatement<Args, Row> {
  // Per dialect: keyed by the dialect's adapter class (SQLite's and PostgreSQL's differ).
  const byDialect = new Map<unknown, { query: CompiledQuery<Row>; sources: readonly ParameterSource[] }>();
  const compile = (db: Executor) => {
    const slots = Array.from({ length: arity }, (_, i) => new Slot(i));
    const query = build(db, ...(slots as unknown as Args)).compile();
    const used = new Set<number>();
    const sources = query.parameters.map((value): ParameterSource => {
      if (!(value instanceof Slot)) return { constant: value };
      used.add(value.index);
      return { argument: value.index };
    });
    if (used.size !== arity) {
      throw new Error(`compiledStatement: ${arity - used.size} of ${arity} placeholders are not parameters of ${query.sql}`);
    }
    return { query, sources };
  };
  return async (db, ...args) => {
    const executor = db.getExecutor();
    // A handle with plugins (a test recording statements, a schema plugin) may transform each
    // query: build it for this call, as the builder would, and compile nothing ahead.
    if (executor.plugins.length > 0) return db.executeQuery<Row>(build(db, ...args));
    const dialect = executor.adapter.constructor;
    let compiled = byDialect.get(dialect);
    if (!compiled) byDialect.set(dialect, (compiled = compile(db)));
    const { query, sources } = compiled;
    const parameters = sources.map((s) => ('argument' in s ? args[s.argument] : s.constant));
    return db.executeQuery<Row>({ ...query, parameters });
  };
}
