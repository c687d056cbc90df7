import { describe, expect, it } from 'vitest';
import { nodeLogger, readableLine } from './logger';

function capture(pretty = false, level: 'debug' | 'info' | 'warn' | 'error' = 'info') {
  const out: string[] = [];
  const err: string[] = [];
  const logger = nodeLogger({ nodeId: 'n2', protocol: 'zab', fencingName: 'epoch', level, pretty, streams: { out: { write: (l: string) => out.push(l) }, err: { write: (l: string) => err.push(l) } } });
  return { logger, out, err };
}

describe('node logger', () => {
  it('writes one JSON object per event with time, level, node, protocol, fencing number, message and fields', () => {
    const { logger, out, err } = capture();
    logger.setFence(() => 7);
    logger.info('role changed', { role: 'leader', leader: 'n2' });
    expect(out).toHaveLength(1);
    expect(err).toHaveLength(0);
    const line = JSON.parse(out[0]!) as Record<string, unknown>;
    expect(line).toMatchObject({ level: 'info', node: 'n2', protocol: 'zab', epoch: 7, msg: 'role changed', role: 'leader', leader: 'n2' });
    expect(typeof line.t).toBe('string');
    expect(Number.isNaN(Date.parse(line.t as string))).toBe(false);
    expect(out[0]!.endsWith('\n')).toBe(true);
  });

  it('sends warn and error to stderr only, and drops what is below its level', () => {
    const { logger, out, err } = capture(false, 'info');
    logger.debug('hidden');
    logger.warn('slow fsync', { ms: 300 });
    logger.error('failed');
    expect(out).toEqual([]);
    expect(err.map((l) => (JSON.parse(l) as { msg: string }).msg)).toEqual(['slow fsync', 'failed']);
  });

  it('lets an event field of the same name win over the fencing number, with no duplicate key', () => {
    const { logger, out } = capture();
    logger.setFence(() => 3);
    logger.info('epoch changed', { epoch: 4 });
    expect(out[0]!.match(/"epoch"/g)).toHaveLength(1);
    expect(JSON.parse(out[0]!)).toMatchObject({ epoch: 4 });
  });

  it('never repeats the node or protocol key: an event field of that name is renamed', () => {
    const { logger, out } = capture();
    logger.info('peer', { node: 'n3', protocol: 'raft' });
    expect(out[0]!.match(/"node"/g)).toHaveLength(1);
    expect(JSON.parse(out[0]!)).toMatchObject({ node: 'n2', protocol: 'zab', eventNode: 'n3', eventProtocol: 'raft' });
  });

  it('writes readable lines on a terminal', () => {
    const { logger, out } = capture(true);
    logger.setFence(() => 5);
    logger.info('node started', { listen: '127.0.0.1:7001', members: ['n1', 'n2'] });
    expect(out[0]).toMatch(/^\d\d:\d\d:\d\d\.\d{3} INFO  n2 epoch=5  node started  listen=127\.0\.0\.1:7001 members=\["n1","n2"\]\n$/);
    expect(readableLine('not json')).toBe('not json');
  });
});
