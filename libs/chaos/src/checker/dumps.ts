/**
 * Convergence after healing: every replica's database dump must hold the same rows. A dump is
 * a list of rows, each a list of strings whose first element names the table (the harness
 * renders values as strings so integer/real/blob differences show). Rows are compared as
 * multisets, so row order within a dump does not matter.
 */

export interface ReplicaDifference {
  kind: 'missing-row' | 'extra-row';
  node: string;
  table: string;
  row: string[];
  /** How many copies the node lacks (missing-row) or has in excess (extra-row). */
  copies: number;
  /** The nodes whose count is the reference (what most nodes hold; the largest on a tie). */
  referenceNodes: string[];
  message: string;
}

/** Differences in node, table, row order; empty when all replicas agree. */
export function compareReplicaDumps(dumps: Readonly<Record<string, readonly (readonly string[])[]>>): ReplicaDifference[] {
  const nodes = Object.keys(dumps).sort();
  const counts = new Map<string, Map<string, number>>();
  for (const node of nodes) {
    for (const row of dumps[node] ?? []) {
      const key = JSON.stringify(row);
      const perNode = counts.get(key) ?? new Map<string, number>();
      perNode.set(node, (perNode.get(node) ?? 0) + 1);
      counts.set(key, perNode);
    }
  }
  const differences: ReplicaDifference[] = [];
  for (const [key, perNode] of counts) {
    const reference = referenceCount(nodes.map((n) => perNode.get(n) ?? 0));
    const referenceNodes = nodes.filter((n) => (perNode.get(n) ?? 0) === reference);
    const row = JSON.parse(key) as string[];
    const table = row[0] ?? '';
    for (const node of nodes) {
      const have = perNode.get(node) ?? 0;
      if (have === reference) continue;
      const kind = have < reference ? 'missing-row' : 'extra-row';
      const copies = Math.abs(have - reference);
      const message =
        `node ${node}: table ${table}: row ${key} ${kind === 'missing-row' ? 'missing' : 'extra'}` +
        `${copies > 1 ? ` (${copies} copies)` : ''}; ${reference} cop${reference === 1 ? 'y' : 'ies'} on ${referenceNodes.join(', ')}`;
      differences.push({ kind, node, table, row, copies, referenceNodes, message });
    }
  }
  return differences.sort((a, b) => cmp(a.node, b.node) || cmp(a.table, b.table) || cmp(JSON.stringify(a.row), JSON.stringify(b.row)));
}

/** The count held by a strict majority of nodes, else the largest count. */
function referenceCount(counts: readonly number[]): number {
  const tally = new Map<number, number>();
  for (const c of counts) tally.set(c, (tally.get(c) ?? 0) + 1);
  for (const [c, n] of tally) if (n * 2 > counts.length) return c;
  return Math.max(0, ...counts);
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
