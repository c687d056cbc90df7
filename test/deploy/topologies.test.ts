/**
 * Every shipped topology has a compose file rendered from libs/cluster's one list, committed
 * as rendered (UPDATE_COMPOSE=1 npx vitest run test/deploy/topologies.test.ts rewrites them),
 * valid for docker-compose (or the built-in check of the same rules), and every service's
 * environment is a node config that loads with the roles the topology names, for every
 * protocol QUORUMLITE_PROTOCOL may pick.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { composeFileOf, renderCompose, TOPOLOGIES, topologyNodes } from '@quorumlite/cluster';
import { loadConfig } from '@quorumlite/config';
import { PROTOCOL_NAMES, PROTOCOLS, type ProtocolModule } from '@quorumlite/consensus';
import { composeChecker, loadCompose } from './compose-check';

const root = path.resolve(__dirname, '../..');
const checker = composeChecker();
const update = process.env['UPDATE_COMPOSE'] === '1';

describe.each(TOPOLOGIES)(`topology $name (compose checked with ${checker})`, (topology) => {
  const file = path.join(root, composeFileOf(topology));

  it(`${composeFileOf(topology)} is the rendered file`, () => {
    if (update) {
      fs.mkdirSync(path.dirname(file), { recursive: true });
      fs.writeFileSync(file, renderCompose(topology));
    }
    expect(fs.existsSync(file), `${file} is missing; UPDATE_COMPOSE=1 renders it`).toBe(true);
    expect(fs.readFileSync(file, 'utf8'), 'the committed file differs from the rendered one; UPDATE_COMPOSE=1 renders it').toBe(renderCompose(topology));
  });

  it.each(PROTOCOL_NAMES)('is valid, and with QUORUMLITE_PROTOCOL=%s every node config loads with its role', (protocol) => {
    const env = { ...process.env, QUORUMLITE_PUBLISH_HOST: undefined, QUORUMLITE_PROTOCOL: protocol };
    const compose = loadCompose(file, checker, env);
    const nodes = topologyNodes(topology);
    expect(Object.keys(compose.services)).toEqual(nodes.map((n) => n.id));
    const roles = (PROTOCOLS[protocol as keyof typeof PROTOCOLS] as ProtocolModule).roles;
    for (const [id, service] of Object.entries(compose.services)) {
      if (topology.witnesses > 0 && !roles.includes('witness')) {
        // Refused as the node itself would refuse it, naming the member.
        expect(() => loadConfig({ argv: [], env: service.environment })).toThrow(new RegExp(`role 'witness' is not supported by protocol '${protocol}'`));
        continue;
      }
      const config = loadConfig({ argv: [], env: service.environment });
      expect(config.protocol).toBe(protocol);
      expect(config.nodeId).toBe(id);
      expect(config.members.map((m) => [m.id, m.role])).toEqual(nodes.map((n) => [n.id, n.role]));
      expect(service.ports).toEqual([`127.0.0.1:${7001 + nodes.findIndex((n) => n.id === id)}:7001`]);
    }
  });
});
