/**
 * Read-side views of the user's database for comparing replicas: the objects the user made
 * (quorumlite's and SQLite's own hidden) and a digest over their schema and rows.
 */
import { createHash, type Hash } from 'node:crypto';
import type Database from 'better-sqlite3';
import { INTERNAL_PREFIX } from './policy';

export interface UserObject {
  readonly type: string;
  readonly name: string;
  readonly tblName: string;
  readonly sql: string | null;
}

const TYPE_ORDER = "CASE type WHEN 'table' THEN 0 WHEN 'view' THEN 1 WHEN 'index' THEN 2 ELSE 3 END";

export function userObjects(db: Database.Database): UserObject[] {
  const rows = db
      .prepare<[{ prefix: string; n: number }], { type: string; name: string; tbl_name: string; sql: string | null }>(
      `SELECT type, name, tbl_name, sql FROM sqlite_schema
        WHERE substr(name, 1, :n) <> :prefix COLLATE NOCASE AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'
        ORDER BY ${TYPE_ORDER}, name`,
    )
    .all({ prefix: INTERNAL_PREFIX, n: INTERNAL_PREFIX.length });
  return rows.map((r) => ({ type: r.type, name: r.name, tblName: r.tbl_name, sql: r.sql }));
}

/**
 * SHA-256 over the schema and every row of every user table in key order (a b-tree scan is
 * in key order whatever the page layout, so equal contents give equal digests). Virtual
 * tables are skipped: their content lives in shadow tables, which are hashed.
 */
export function digestDatabase(db: Database.Database): string {
  const h = createHash('sha256');
  const objects = userObjects(db);
  for (const o of objects) hashValues(h, ['schema', o.type, o.name, o.tblName, o.sql]);
  for (const o of objects) {
    if (o.type !== 'table' || /^\s*CREATE\s+VIRTUAL\s/i.test(o.sql ?? '')) continue;
    hashValues(h, ['table', o.name]);
    const stmt = db.prepare(`SELECT * FROM "${o.name.replace(/"/g, '""')}"`).raw(true).safeIntegers(true);
    for (const row of stmt.iterate() as IterableIterator<unknown[]>) hashValues(h, row);
  }
  return h.digest('hex');
}

/** Each value with a type tag and length, so ('ab','c') and ('a','bc') differ and 1 ≠ 1.0 ≠ '1'. */
function hashValues(h: Hash, values: readonly unknown[]): void {
  const head = Buffer.alloc(9);
  for (const v of values) {
    if (v === null || v === undefined) {
      h.update(Buffer.of(0));
    } else if (typeof v === 'bigint') {
      head[0] = 1;
      head.writeBigInt64LE(BigInt.asIntN(64, v), 1);
      h.update(head);
    } else if (typeof v === 'number') {
      head[0] = 2;
      head.writeDoubleLE(v, 1);
      h.update(head);
    } else if (typeof v === 'string') {
      const b = Buffer.from(v, 'utf8');
      head[0] = 3;
      head.writeBigUInt64LE(BigInt(b.length), 1);
      h.update(head);
      h.update(b);
    } else if (v instanceof Uint8Array) {
      head[0] = 4;
      head.writeBigUInt64LE(BigInt(v.byteLength), 1);
      h.update(head);
      h.update(v);
    } else {
      throw new Error(`unexpected SQLite value of type ${typeof v}`);
    }
  }
  h.update(Buffer.of(0xff)); // row end
}
