/**
 * dataDir/cluster.json records a local cluster's layout (ids, roles, ports), so a later start
 * over the same data dir can bring the same members back at the same addresses.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

export type LocalRole = 'voter' | 'witness' | 'observer';

export interface ClusterManifest {
  version: 1;
  host: string;
  protocol?: string;
  nodes: { id: string; role: LocalRole; port: number }[];
}

export const MANIFEST_FILE = 'cluster.json';

export function manifestPath(dataDir: string): string {
  return path.join(dataDir, MANIFEST_FILE);
}

function isRole(v: unknown): v is LocalRole {
  return v === 'voter' || v === 'witness' || v === 'observer';
}

/** The layout a data dir holds, or null when it holds none (or a file this code did not write). */
export function readClusterManifest(dataDir: string): ClusterManifest | null {
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(manifestPath(dataDir), 'utf8'));
  } catch {
    return null;
  }
  if (typeof raw !== 'object' || raw === null) return null;
  const m = raw as Partial<ClusterManifest>;
  if (m.version !== 1 || typeof m.host !== 'string' || !Array.isArray(m.nodes)) return null;
  const nodes = m.nodes.filter((n) => typeof n?.id === 'string' && isRole(n.role) && Number.isInteger(n.port));
  if (nodes.length !== m.nodes.length || nodes.length === 0) return null;
  return { version: 1, host: m.host, nodes, ...(typeof m.protocol === 'string' ? { protocol: m.protocol } : {}) };
}

export function writeClusterManifest(dataDir: string, manifest: ClusterManifest): void {
  const file = manifestPath(dataDir);
  const tmp = `${file}.tmp`;
  fs.writeFileSync(tmp, `${JSON.stringify(manifest, null, 2)}\n`);
  fs.renameSync(tmp, file);
}
