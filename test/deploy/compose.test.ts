/**
 * docker-compose.yml is checked with Debian's docker-compose (no engine needed), and each
 * service's environment must be a node config that boots: loadConfig accepts it.
 */
import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '@quorumlite/config';

const root = path.resolve(__dirname, '../..');

function composeConfig(): string {
  try {
    return execFileSync('docker-compose', ['-f', path.join(root, 'docker-compose.yml'), 'config'], { encoding: 'utf8' });
  } catch (e: unknown) {
    throw new Error(`docker-compose config failed (install it with: apt-get install docker-compose): ${String(e)}`);
  }
}

describe('docker-compose.yml', () => {
  it('publishes the node ports on 127.0.0.1 only', () => {
    const published = [...composeConfig().matchAll(/^ {4}- (\S+:\d+:7001)(?:\/tcp)?$/gm)].map((m) => m[1]);
    expect(published).toEqual(['127.0.0.1:7001:7001', '127.0.0.1:7002:7001', '127.0.0.1:7003:7001']);
  });

  it('is valid and describes a 3-voter raft cluster whose every node config loads', () => {
    const text = composeConfig();
    const services = ['n1', 'n2', 'n3'];
    for (const s of services) expect(text).toMatch(new RegExp(`^  ${s}:`, 'm'));
    // docker-compose config prints YAML; pull each service's environment block out of it.
    const blocks = text.split(/^  (?=n\d:)/m).slice(1);
    expect(blocks).toHaveLength(3);
    for (const block of blocks) {
      const env: Record<string, string> = {};
      for (const m of block.matchAll(/^ {6}(QUORUMLITE_[A-Z_]+): (.+)$/gm)) env[m[1]!] = m[2]!.trim();
      const config = loadConfig({ argv: [], env });
      expect(config.protocol).toBe('raft');
      expect(config.members.filter((m) => m.role === 'voter')).toHaveLength(3);
      expect(config.members.map((m) => m.address)).toContain(config.advertise);
    }
  });
});
