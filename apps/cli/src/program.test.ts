import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { EXIT_UNREACHABLE, EXIT_USAGE } from './errors';
import { main } from './program';
import { parseClients } from './commands/certs';
import { tlsFrom } from './commands/common';
import { statementsOf } from './commands/exec';
import { layoutOf, sameLayout, topologyOf } from './commands/cluster';

afterEach(() => {
  vi.restoreAllMocks();
  process.exitCode = undefined;
});

function capture(): { out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  vi.spyOn(process.stdout, 'write').mockImplementation((s: string | Uint8Array) => (out.push(String(s)), true));
  vi.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => (err.push(String(s)), true));
  return { out, err };
}

describe('command line', () => {
  it('exits 2 on usage errors', async () => {
    const { err } = capture();
    expect(await main(['node', 'quorumlite', 'frobnicate'])).toBe(EXIT_USAGE);
    expect(await main(['node', 'quorumlite', 'exec'])).toBe(EXIT_USAGE);
    expect(await main(['node', 'quorumlite', 'exec', 'SELECT ?', '--param', 'bare'])).toBe(EXIT_USAGE);
    expect(await main(['node', 'quorumlite', 'query', 'SELECT 1', '--consistency', 'eventual'])).toBe(EXIT_USAGE);
    expect(err.join('')).toContain("cannot tell its type; write text as \"'bare'\" or text:bare");
  });

  it('bench failover --help prints its usage alone and exits 0', async () => {
    const { out, err } = capture();
    expect(await main(['node', 'quorumlite', 'bench', 'failover', '--help'])).toBe(0);
    expect(err.join('')).toBe('');
    expect(out.join('')).toMatch(/^usage: quorumlite bench failover \[--trials 10\]/);
  });

  it('bench partition --help prints its usage alone and exits 0', async () => {
    const { out, err } = capture();
    expect(await main(['node', 'quorumlite', 'bench', 'partition', '--help'])).toBe(0);
    expect(err.join('')).toBe('');
    expect(out.join('')).toMatch(/^usage: quorumlite bench partition \[--trials 3\]/);
  });

  it('bench witness-disk --help prints its usage alone and exits 0', async () => {
    const { out, err } = capture();
    expect(await main(['node', 'quorumlite', 'bench', 'witness-disk', '--help'])).toBe(0);
    expect(err.join('')).toBe('');
    expect(out.join('')).toMatch(/^usage: quorumlite bench witness-disk \[--protocols /);
  });

  it('documents parameters in --help and exits 0', async () => {
    const { out } = capture();
    expect(await main(['node', 'quorumlite', 'exec', '--help'])).toBe(0);
    expect(out.join('')).toContain("x'00ff'");
  });

  it('exits 3 when no node answers', async () => {
    const { err } = capture();
    expect(await main(['node', 'quorumlite', 'status', '--addr', '127.0.0.1:1', '--retry-ms', '0'])).toBe(EXIT_UNREACHABLE);
    expect(err.join('')).toMatch(/^error \(unavailable\): cannot reach 127\.0\.0\.1:1/);
  });

  it('accepts negative numbers as parameter values', async () => {
    capture();
    expect(await main(['node', 'quorumlite', 'exec', 'SELECT ?', '--param', '-7', '--addr', '127.0.0.1:1', '--retry-ms', '0'])).toBe(EXIT_UNREACHABLE);
  });
});

describe('exec statements', () => {
  it('splits a script and takes an unterminated last statement', () => {
    expect(statementsOf('INSERT INTO t VALUES (1); INSERT INTO t VALUES (2)')).toEqual(['INSERT INTO t VALUES (1)', 'INSERT INTO t VALUES (2)']);
    expect(statementsOf(' -- nothing ')).toEqual([]);
  });
});

describe('cluster layout', () => {
  const at = (topology: string, basePort = 7001) => layoutOf({ topology: topologyOf({ topology }), host: '127.0.0.1', basePort });

  it('recognizes the same recorded cluster', () => {
    const wanted = layoutOf({ topology: topologyOf({ nodes: '3' }), host: '127.0.0.1', basePort: 7001 });
    const manifest = { version: 1 as const, host: '127.0.0.1', nodes: [7001, 7002, 7003].map((port, i) => ({ id: `n${i + 1}`, role: 'voter' as const, port })) };
    expect(sameLayout(manifest, wanted)).toBe(true);
    expect(sameLayout(manifest, at('3v'))).toBe(true);
    expect(sameLayout(manifest, at('3v', 8001))).toBe(false);
    expect(sameLayout(manifest, at('5v'))).toBe(false);
    // Same ports and count, another role: not the same cluster.
    expect(sameLayout(manifest, at('2v1w'))).toBe(false);
  });

  it('lays a topology out as data voters, then witnesses, then observers', () => {
    expect(at('2v1w').nodes).toEqual([{ id: 'n1', role: 'voter' }, { id: 'n2', role: 'voter' }, { id: 'n3', role: 'witness' }]);
    expect(at('3v2o').nodes.map((n) => n.role)).toEqual(['voter', 'voter', 'voter', 'observer', 'observer']);
    expect(at('3v2w').ports).toEqual([7001, 7002, 7003, 7004, 7005]);
  });

  it('refuses an unknown topology naming the known ones, and --nodes with --topology', () => {
    expect(() => topologyOf({ topology: '4v' })).toThrow(/--topology: unknown topology '4v'; known: 3v \(.*\), 2v1w/);
    expect(() => topologyOf({ topology: '2v1w', nodes: '3' })).toThrow(/cannot be combined/);
    expect(() => topologyOf({ nodes: '10' })).toThrow(/at most 9/);
    expect(topologyOf({}).name).toBe('3v');
  });
});

let dir = '';
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ql-cli-tls-'));
});
afterEach(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('quorumlite certs', () => {
  it('writes an authority and node and client certificates naming member id or role', async () => {
    const { out } = capture();
    expect(await main(['node', 'quorumlite', 'certs', '--dir', dir, '--nodes', 'a,b', '--clients', 'ops:write', '--hosts', 'db.internal'])).toBe(0);
    expect(out.join('')).toContain(`certificates in ${dir}: authority ca.crt; nodes a, b; clients ops (write)`);
    const ca = new crypto.X509Certificate(fs.readFileSync(path.join(dir, 'ca.crt')));
    const node = new crypto.X509Certificate(fs.readFileSync(path.join(dir, 'b.crt')));
    const client = new crypto.X509Certificate(fs.readFileSync(path.join(dir, 'ops.crt')));
    expect(node.subject).toContain('OU=node\nCN=b');
    expect(node.subjectAltName).toBe('DNS:b, DNS:localhost, IP Address:127.0.0.1, DNS:db.internal');
    expect(client.subject).toContain('OU=write\nCN=ops');
    expect(node.verify(ca.publicKey) && client.verify(ca.publicKey)).toBe(true);
    expect(fs.statSync(path.join(dir, 'ops.key')).mode & 0o777).toBe(0o600);
  });

  it('refuses a client without a known role', async () => {
    const { err } = capture();
    expect(await main(['node', 'quorumlite', 'certs', '--dir', dir, '--clients', 'ops:root'])).toBe(EXIT_USAGE);
    expect(err.join('')).toContain("--clients: 'ops:root' is not name:role with role one of read, write, admin");
    expect(parseClients('a:read, b:admin')).toEqual([
      { name: 'a', role: 'read' },
      { name: 'b', role: 'admin' },
    ]);
  });
});

describe('client TLS flags', () => {
  it('are all or none, and an unreadable file is named', () => {
    expect(tlsFrom({})).toBeUndefined();
    expect(() => tlsFrom({ tlsCa: 'ca.crt', tlsCert: 'c.crt' })).toThrow('--tls-key is needed with --tls-ca and --tls-cert');
    const missing = path.join(dir, 'nope.crt');
    expect(() => tlsFrom({ tlsCa: missing, tlsCert: missing, tlsKey: missing })).toThrow(`--tls-ca: cannot read ${missing}: ENOENT`);
  });
});
