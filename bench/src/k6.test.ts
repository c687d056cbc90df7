/**
 * The k6 scripts cannot run here (no k6), so this checks what can be checked without it: every
 * script is a syntactically valid ES module (V8's own parser via `node --check` on a .mjs copy,
 * which parses without resolving k6's imports), and every method and request field they send
 * exists in proto/quorumlite/v1/sql.proto.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import * as protoLoader from '@grpc/proto-loader';
import { afterAll, describe, expect, it } from 'vitest';
import { mixedWrites, SCENARIO_NAMES } from './scenarios';

const K6_DIR = path.resolve(__dirname, '..', 'k6');
const PROTO_DIR = path.resolve(__dirname, '..', '..', 'proto');
const SCRIPTS = ['lib.js', 'requests.js', 'insert.js', 'select.js', 'batch100.js', 'mixed.js', 'hot-update.js'];
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'quorumlite-k6-check-'));

afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function checkModuleSyntax(source: string, name: string): { ok: boolean; stderr: string } {
  const file = path.join(tmp, `${name}.mjs`);
  fs.writeFileSync(file, source);
  const r = spawnSync(process.execPath, ['--check', file], { encoding: 'utf8', timeout: 20_000 });
  return { ok: r.status === 0, stderr: r.stderr };
}

// ---- a small walker over proto-loader's descriptors ------------------------------------

interface FieldDescriptor {
  name: string;
  jsonName?: string;
  type: string;
  typeName?: string;
  label: string;
}
interface MessageDescriptor {
  name: string;
  field: FieldDescriptor[];
  nestedType?: MessageDescriptor[];
  options?: { mapEntry?: boolean } | null;
}

const defs = protoLoader.loadSync('quorumlite/v1/sql.proto', { keepCase: true, includeDirs: [PROTO_DIR] });

const PACKAGE = 'quorumlite.v1';

/** proto-loader gives type names relative to the package ('Value') or fully qualified. */
function qualified(name: string): string {
  const bare = name.replace(/^\./, '');
  return bare.startsWith(`${PACKAGE}.`) ? bare : `${PACKAGE}.${bare}`;
}

/** protojson accepts a field's proto name and its lowerCamelCase JSON name. */
function jsonNameOf(f: FieldDescriptor): string {
  return f.jsonName || f.name.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
}

function messageType(name: string): MessageDescriptor {
  const entry = defs[qualified(name)] as { type?: MessageDescriptor } | undefined;
  if (!entry?.type) throw new Error(`message ${name} is not in sql.proto`);
  return entry.type;
}

function enumValues(name: string): string[] {
  const entry = defs[qualified(name)] as { type?: { value: Array<{ name: string }> } } | undefined;
  if (!entry?.type) throw new Error(`enum ${name} is not in sql.proto`);
  return entry.type.value.map((v) => v.name);
}

const SCALAR_CHECKS: Record<string, (v: unknown) => boolean> = {
  TYPE_STRING: (v) => typeof v === 'string',
  TYPE_BOOL: (v) => typeof v === 'boolean',
  TYPE_DOUBLE: (v) => typeof v === 'number',
  TYPE_BYTES: (v) => typeof v === 'string',
  TYPE_UINT32: (v) => Number.isInteger(v),
  TYPE_INT64: (v) => typeof v === 'string' && /^-?\d+$/.test(v),
  TYPE_SINT64: (v) => typeof v === 'string' && /^-?\d+$/.test(v),
  TYPE_UINT64: (v) => typeof v === 'string' && /^\d+$/.test(v),
};

/** Problems found walking `value` as message `typeName`, each with its field path. */
function problems(typeName: string, value: unknown, where: string): string[] {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return [`${where}: expected a ${typeName} object`];
  const type = messageType(typeName);
  const out: string[] = [];
  for (const [key, v] of Object.entries(value)) {
    const field = type.field.find((f) => f.name === key || jsonNameOf(f) === key);
    if (!field) {
      out.push(`${where}.${key}: no such field in ${type.name}`);
      continue;
    }
    const mapEntry = type.nestedType?.find((t) => t.name === field.typeName && t.options?.mapEntry);
    if (mapEntry) {
      const valueField = mapEntry.field.find((f) => f.name === 'value')!;
      if (typeof v !== 'object' || v === null || Array.isArray(v)) out.push(`${where}.${key}: map field needs an object`);
      else for (const [k, item] of Object.entries(v)) out.push(...fieldProblems(valueField, item, `${where}.${key}.${k}`));
      continue;
    }
    const items = field.label === 'LABEL_REPEATED' ? (Array.isArray(v) ? (v as unknown[]) : null) : [v];
    if (items === null) {
      out.push(`${where}.${key}: repeated field needs an array`);
      continue;
    }
    items.forEach((item, i) => out.push(...fieldProblems(field, item, `${where}.${key}${field.label === 'LABEL_REPEATED' ? `[${i}]` : ''}`)));
  }
  return out;
}

function fieldProblems(field: FieldDescriptor, v: unknown, where: string): string[] {
  if (field.type === 'TYPE_MESSAGE') return problems(field.typeName!, v, where);
  if (field.type === 'TYPE_ENUM') return enumValues(field.typeName!).includes(String(v)) ? [] : [`${where}: '${String(v)}' is not a value of ${field.typeName}`];
  const ok = SCALAR_CHECKS[field.type];
  if (!ok) return [`${where}: field type ${field.type} not handled by this check`];
  return ok(v) ? [] : [`${where}: ${JSON.stringify(v)} is not a valid ${field.type}`];
}

interface Requests {
  EXECUTE: string;
  QUERY: string;
  STATUS: string;
  createTableRequest(): unknown;
  insertRequest(key: string): unknown;
  batchRequest(prefix: string): { statements: unknown[] };
  preloadRequest(first: number, count: number): unknown;
  selectRequest(key: string, consistency: string): unknown;
  updateRequest(key: string, seq: number): unknown;
  mixedWrites(readPercent: number, seq: number): boolean;
  statusRequest(): unknown;
}

async function loadRequests(): Promise<Requests> {
  return (await import(pathToFileURL(path.join(K6_DIR, 'requests.js')).href)) as Requests;
}

describe('k6 scripts', () => {
  it('parse as ES modules (and the check does reject a broken module)', () => {
    for (const script of SCRIPTS) {
      const result = checkModuleSyntax(fs.readFileSync(path.join(K6_DIR, script), 'utf8'), script);
      expect(result, script).toMatchObject({ ok: true });
    }
    expect(checkModuleSyntax("import grpc from 'k6/net/grpc';\nexport default function () { grpc.invoke( }\n", 'broken').ok).toBe(false);
  });

  it('call only methods of quorumlite.v1.SqlService that exist', async () => {
    const service = defs['quorumlite.v1.SqlService'] as Record<string, { path: string }>;
    const paths = new Set(Object.values(service).map((m) => m.path.replace(/^\//, '')));
    const r = await loadRequests();
    for (const method of [r.EXECUTE, r.QUERY, r.STATUS]) expect(paths.has(method), method).toBe(true);
    // Method names written directly in any script must exist too.
    for (const script of SCRIPTS) {
      for (const m of fs.readFileSync(path.join(K6_DIR, script), 'utf8').matchAll(/'(quorumlite\.v1\.[A-Za-z]+\/[A-Za-z]+)'/g)) {
        expect(paths.has(m[1]!), `${script}: ${m[1]}`).toBe(true);
      }
    }
  });

  it('send requests whose every field and enum value is in sql.proto', async () => {
    const r = await loadRequests();
    const cases: Array<[string, unknown]> = [
      ['quorumlite.v1.ExecuteRequest', r.createTableRequest()],
      ['quorumlite.v1.ExecuteRequest', r.insertRequest('k')],
      ['quorumlite.v1.ExecuteRequest', r.batchRequest('p')],
      ['quorumlite.v1.ExecuteRequest', r.preloadRequest(0, 3)],
      ['quorumlite.v1.QueryRequest', r.selectRequest('k', 'CONSISTENCY_LINEARIZABLE')],
      ['quorumlite.v1.QueryRequest', r.selectRequest('k', 'CONSISTENCY_STALE')],
      ['quorumlite.v1.StatusRequest', r.statusRequest()],
      ['quorumlite.v1.ExecuteRequest', r.updateRequest('k', 7)],
    ];
    for (const [type, request] of cases) expect(problems(type, request, type)).toEqual([]);
    expect(r.batchRequest('p').statements).toHaveLength(100);
    // The walker itself must catch mistakes.
    expect(problems('quorumlite.v1.QueryRequest', { sql: 'x', params: [{ txt: 'a' }], consistency: 'STALE' }, 'q')).toHaveLength(2);
  });

  it('cover every scenario of the Node loader, with the same write mix', async () => {
    const sources = SCRIPTS.map((script) => fs.readFileSync(path.join(K6_DIR, script), 'utf8')).join('\n');
    for (const scenario of SCENARIO_NAMES) expect(sources, scenario).toContain(`'${scenario}'`);
    const r = await loadRequests();
    for (let seq = 0; seq < 40; seq++) {
      expect(r.mixedWrites(90, seq), `mixed90 #${seq}`).toBe(mixedWrites('mixed90', seq));
      expect(r.mixedWrites(50, seq), `mixed50 #${seq}`).toBe(mixedWrites('mixed50', seq));
    }
  });

  it('read only response fields that sql.proto defines', () => {
    const responseFields = new Set(['quorumlite.v1.ExecuteResponse', 'quorumlite.v1.QueryResponse', 'quorumlite.v1.StatusResponse'].flatMap((t) => messageType(t).field.flatMap((f) => [f.name, jsonNameOf(f)])));
    for (const script of SCRIPTS) {
      for (const m of fs.readFileSync(path.join(K6_DIR, script), 'utf8').matchAll(/\.message\.([A-Za-z_]+)/g)) {
        expect(responseFields.has(m[1]!), `${script}: message.${m[1]}`).toBe(true);
      }
    }
  });
});
