/**
 * docker-compose.yml is checked with Debian's docker-compose (no engine needed) when it is
 * installed, else with the built-in check of compose-check.ts; the test names say which ran.
 * Each service's environment must be a node config that boots: loadConfig accepts it.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '@quorumlite/config';
import { checkComposeText, ComposeError, composeChecker, dockerComposeConfig, hasDockerCompose, loadCompose } from './compose-check';

const root = path.resolve(__dirname, '../..');
const COMPOSE_FILE = path.join(root, 'docker-compose.yml');
const checker = composeChecker();
const withoutPublishHost = { ...process.env, QUORUMLITE_PUBLISH_HOST: undefined };

describe(`docker-compose.yml (checked with ${checker})`, () => {
  it('is valid and describes a 3-voter raft cluster whose every node config loads', () => {
    const file = loadCompose(COMPOSE_FILE, checker, withoutPublishHost);
    expect(Object.keys(file.services)).toEqual(['n1', 'n2', 'n3']);
    for (const service of Object.values(file.services)) {
      const config = loadConfig({ argv: [], env: service.environment });
      expect(config.protocol).toBe('raft');
      expect(config.members.filter((m) => m.role === 'voter')).toHaveLength(3);
      expect(config.members.map((m) => m.address)).toContain(config.advertise);
      expect(service.volumes).toEqual([`${config.nodeId}-data:/data`]);
    }
  });

  it('publishes the node ports on 127.0.0.1 unless QUORUMLITE_PUBLISH_HOST says otherwise', () => {
    const ports = (env: NodeJS.ProcessEnv): string[] => Object.values(loadCompose(COMPOSE_FILE, checker, env).services).flatMap((s) => s.ports);
    expect(ports(withoutPublishHost)).toEqual(['127.0.0.1:7001:7001', '127.0.0.1:7002:7001', '127.0.0.1:7003:7001']);
    expect(ports({ ...process.env, QUORUMLITE_PUBLISH_HOST: '0.0.0.0' })).toEqual(['0.0.0.0:7001:7001', '0.0.0.0:7002:7001', '0.0.0.0:7003:7001']);
  });
});

/** Files docker-compose config refuses, and the words of the built-in check's refusal. */
const REFUSED: readonly { what: string; yaml: string; error: RegExp }[] = [
  { what: 'an unknown top-level key', yaml: 'version: "3.8"\nservice:\n  a: {image: x}\n', error: /unsupported key 'service'/ },
  { what: 'an unknown service key', yaml: 'version: "3.8"\nservices:\n  a: {image: x, port: ["1:1"]}\n', error: /services\.a has an unsupported key 'port'/ },
  { what: 'a service with neither image nor build', yaml: 'version: "3.8"\nservices:\n  a: {hostname: a}\n', error: /neither an image nor a build/ },
  { what: 'a malformed port', yaml: 'version: "3.8"\nservices:\n  a: {image: x, ports: ["7001:abc"]}\n', error: /invalid port '7001:abc'/ },
  { what: 'an undeclared named volume', yaml: 'version: "3.8"\nservices:\n  a: {image: x, volumes: ["data:/data"]}\n', error: /named volume 'data' is not declared/ },
  { what: 'a boolean environment value', yaml: 'version: "3.8"\nservices:\n  a: {image: x, environment: {FLAG: true}}\n', error: /FLAG contains true, which is an invalid type/ },
  { what: 'depends_on naming no service', yaml: 'version: "3.8"\nservices:\n  a: {image: x, depends_on: [b]}\n', error: /depends_on names 'b', which is not a service/ },
  { what: 'an undeclared network', yaml: 'version: "3.8"\nservices:\n  a: {image: x, networks: [back]}\n', error: /network 'back', which is not declared/ },
  { what: 'a broken interpolation', yaml: 'version: "3.8"\nservices:\n  a: {image: "x${"}\n', error: /invalid interpolation format/ },
];

describe(`the built-in compose check${hasDockerCompose() ? ' (and docker-compose config, installed here)' : ''}`, () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ql-compose-'));
  afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

  for (const [i, bad] of REFUSED.entries()) {
    it(`refuses ${bad.what}`, () => {
      expect(() => checkComposeText(bad.yaml, {})).toThrow(bad.error);
      if (hasDockerCompose()) {
        const file = path.join(tmp, `bad-${i}.yml`);
        fs.writeFileSync(file, bad.yaml);
        expect(() => dockerComposeConfig(file, {})).toThrow(ComposeError);
      }
    });
  }

  it('accepts what docker-compose accepts: merge keys, defaults, long-form ports and volumes, declared networks', () => {
    const yaml = [
      'version: "3.8"',
      'x-base: &base',
      '  image: x',
      '  environment: {A: "1", N: 2, E: null}',
      'services:',
      '  a:',
      '    <<: *base',
      '    ports: ["${HOST_IP:-127.0.0.1}:80:8080/udp", 9000, {target: 81, published: 8081}]',
      '    volumes: ["./here:/here:ro", "data:/data", {type: volume, source: data, target: /more}]',
      '    networks: [back]',
      '  b: {build: ., depends_on: [a], environment: ["K=v", "EMPTY"]}',
      'volumes: {data: {}}',
      'networks: {back: {}}',
    ].join('\n');
    const file = checkComposeText(yaml, {});
    expect(file.services.a).toMatchObject({ image: 'x', environment: { A: '1', N: '2', E: '' }, ports: ['127.0.0.1:80:8080/udp', '9000', '8081:81'], networks: ['back'] });
    expect(file.services.b).toMatchObject({ depends_on: ['a'], environment: { K: 'v', EMPTY: '' } });
    if (hasDockerCompose()) {
      const path_ = path.join(tmp, 'good.yml');
      fs.writeFileSync(path_, yaml);
      expect(Object.keys(dockerComposeConfig(path_, {}).services).sort()).toEqual(['a', 'b']);
    }
  });
});
