/**
 * JavaScript values → wire Values. The proto library maps every JS number to a real; a client
 * wants `42` to bind as an integer, so safe integers become 64-bit integers here.
 */
import { toWireValue, wireInt64, type SqlValue, type WireValue } from '@quorumlite/proto';

/** What a caller may pass as a parameter; booleans bind as 0/1. */
export type ParamValue = SqlValue | boolean | Buffer;

export interface WireParams {
  params: WireValue[];
  named: Record<string, WireValue>;
}

function describe(v: unknown): string {
  if (v === undefined) return 'undefined';
  if (typeof v === 'object') return v === null ? 'null' : (v.constructor?.name ?? 'object');
  return typeof v;
}

/** "parameter 2" for the positional parameter at index 1; a string names itself. */
function whereOf(where: string | number): string {
  return typeof where === 'number' ? `parameter ${where + 1}` : where;
}

/**
 * Converts one parameter; `where` names it in the TypeError ("parameter :id"), or is the
 * index of a positional one (0 is "parameter 1"), so no label is built unless it is needed.
 */
export function toWireParam(v: unknown, where: string | number): WireValue {
  if (v === null) return { null: true };
  switch (typeof v) {
    case 'number':
      if (Number.isSafeInteger(v)) return { integer: wireInt64(v) };
      return toWireValue(v);
    case 'bigint':
      try {
        return toWireValue(v);
      } catch (e: unknown) {
        throw new TypeError(`${whereOf(where)}: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
      }
    case 'string':
      return { text: v };
    case 'boolean':
      return { integer: v ? 1 : 0 };
    default:
      if (v instanceof Uint8Array) return toWireValue(v);
      throw new TypeError(`${whereOf(where)}: cannot bind a value of type ${describe(v)} (use null, number, bigint, string, boolean or Uint8Array)`);
  }
}

/** Strips the :, @ or $ a caller may have written in front of a named parameter. */
export function paramName(key: string): string {
  return /^[:@$]/.test(key) ? key.slice(1) : key;
}

/** The named values of a statement that has none (shared and frozen: nothing writes to them). */
const NO_NAMED: Record<string, WireValue> = Object.freeze(Object.create(null) as Record<string, WireValue>);

export function toWireParams(params: readonly unknown[] | Record<string, unknown> | undefined): WireParams {
  if (params === undefined) return { params: [], named: NO_NAMED };
  if (Array.isArray(params)) {
    return { params: params.map(toWireParam), named: NO_NAMED };
  }
  // No prototype: a parameter named __proto__ stays a key (the node binds it as one).
  const named: Record<string, WireValue> = Object.create(null) as Record<string, WireValue>;
  for (const [key, v] of Object.entries(params)) {
    const name = paramName(key);
    if (name === '') throw new TypeError(`parameter '${key}': empty name`);
    named[name] = toWireParam(v, `parameter :${name}`);
  }
  return { params: [], named };
}
