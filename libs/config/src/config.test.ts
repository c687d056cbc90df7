import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CONFIG_DEFAULTS, ConfigError, describeConfig, KEYS, loadConfig, parseMembers } from './index';
import { PROTOCOL_NAMES, raft } from '@quorumlite/consensus';
import { makeCerts } from '@quorumlite/transport';

const BASE = ['--node-id', 'n1', '--listen', '127.0.0.1:7001', '--data-dir', '/tmp/q1', '--members', 'n1=127.0.0.1:7001,n2=127.0.0.1:7002,n3=127.0.0.1:7003'];

function load(argv: string[] = BASE, env: Record<string, string | undefined> = {}) {
  return loadConfig({ argv, env });
}

function errorOf(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (e: unknown) {
    if (e instanceof ConfigError) return e;
    throw e;
  }
  throw new Error('expected a ConfigError');
}

/** Replaces (or appends) a flag's value in BASE. */
function withFlag(flag: string, value?: string): string[] {
  const argv = [...BASE];
  const i = argv.indexOf(flag);
  if (i >= 0) argv.splice(i, 2);
  return value === undefined ? [...argv, flag] : [...argv, flag, value];
}

let dir = '';
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'qlite-config-'));
});
afterEach(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

function writeJson(value: unknown): string {
  const file = path.join(dir, 'node.json');
  fs.writeFileSync(file, JSON.stringify(value));
  return file;
}

describe('defaults', () => {
  it('fills every default and advertises the listen address', () => {
    const c = load();
    expect(c).toMatchObject({ ...CONFIG_DEFAULTS, nodeId: 'n1', advertise: '127.0.0.1:7001', dataDir: '/tmp/q1' });
    expect(c.limits).toEqual({
      statementBytesMax: 1024 * 1024,
      statementsPerRequestMax: 10_000,
      paramsPerStatementMax: 999,
      requestBytesMax: 2 * 1024 * 1024,
      resultRowsMax: 100_000,
      resultBytesMax: 32 * 1024 * 1024,
      grpcMessageBytesMax: 64 * 1024 * 1024,
      entriesPerMessageMax: 512,
      bytesPerMessageMax: 4 * 1024 * 1024,
      inflightMessagesMax: 64,
      uncommittedEntriesMax: 100_000,
      proposalBatchMax: 1024,
    });
    expect([c.tickMs, c.heartbeatTicks, c.electionTimeoutTicks, c.protocolOptions['preVote'], c.protocolOptions['checkQuorum']]).toEqual([25, 2, 12, true, true]);
  });

  it.each(['nodeId', 'listen', 'dataDir', 'members'])('requires %s', (key) => {
    const flag = KEYS.find((k) => k.key === key)?.flag ?? '';
    const argv = [...BASE];
    argv.splice(argv.indexOf(flag), 2);
    const e = errorOf(() => load(argv));
    expect(e.key).toBe(key);
    expect(e.code).toBe('missing');
    expect(e.message).toContain(`'${key}'`);
  });
});

describe('precedence: defaults < file < env < flags', () => {
  it('takes each key from the highest layer that sets it', () => {
    const file = writeJson({ tickMs: 10, heartbeatTicks: 3, electionTimeoutTicks: 20, cluster: 'from-file', limits: { resultRowsMax: 5 } });
    const env = { QUORUMLITE_CONFIG: file, QUORUMLITE_HEARTBEAT_TICKS: '4', QUORUMLITE_ELECTION_TIMEOUT_TICKS: '30', QUORUMLITE_LIMIT_RESULT_ROWS_MAX: '6' };
    const c = load([...BASE, '--election-timeout-ticks', '40'], env);
    expect(c.tickMs).toBe(10); // file over default
    expect(c.cluster).toBe('from-file');
    expect(c.heartbeatTicks).toBe(4); // env over file
    expect(c.limits.resultRowsMax).toBe(6);
    expect(c.electionTimeoutTicks).toBe(40); // flag over env
    expect(c.requestTimeoutMs).toBe(10_000); // default
  });

  it('prefers --config over QUORUMLITE_CONFIG', () => {
    const a = writeJson({ tickMs: 11 });
    const b = path.join(dir, 'b.json');
    fs.writeFileSync(b, JSON.stringify({ tickMs: 12 }));
    expect(load([...BASE, '--config', b], { QUORUMLITE_CONFIG: a }).tickMs).toBe(12);
  });

  it('reads every required key from the file alone, members as objects', () => {
    const file = writeJson({
      nodeId: 'a',
      listen: '0.0.0.0:7001',
      advertise: 'node-a.local:7001',
      dataDir: '/d',
      members: [
        { id: 'a', address: 'node-a.local:7001', role: 'voter' },
        { id: 'b', address: 'node-b.local:7001', role: 'observer' },
      ],
    });
    const c = load(['--config', file]);
    expect(c.members).toHaveLength(2);
    expect(c.members[1]?.role).toBe('observer');
  });

  it('accepts boolean flags, --no- flags and --key=value', () => {
    expect(load([...BASE, '--no-pre-vote']).protocolOptions['preVote']).toBe(false);
    expect(load([...BASE, '--no-check-quorum', '--check-quorum']).protocolOptions['checkQuorum']).toBe(true);
    expect(load([...BASE, '--pre-vote=false']).protocolOptions['preVote']).toBe(false);
    expect(load([...BASE, '--tick-ms=50']).tickMs).toBe(50);
    expect(load(BASE, { QUORUMLITE_PRE_VOTE: 'false' }).protocolOptions['preVote']).toBe(false);
  });
});

describe('members', () => {
  it('parses id=host:port[:role] with voter as the default role', () => {
    expect(parseMembers('n1=10.0.0.1:7001, n2=host-b:7002:observer,n3=[::1]:7003:voter,n4=h:1:arbiter', 'test')).toEqual([
      { id: 'n1', address: '10.0.0.1:7001', role: 'voter' },
      { id: 'n2', address: 'host-b:7002', role: 'observer' },
      { id: 'n3', address: '[::1]:7003', role: 'voter' },
      { id: 'n4', address: 'h:1', role: 'witness' },
    ]);
  });

  it('reads members from the environment in the same format', () => {
    const argv = BASE.slice(0, 6);
    const c = load(argv, { QUORUMLITE_MEMBERS: 'n1=127.0.0.1:7001,n2=127.0.0.1:7002:observer' });
    expect(c.members.map((m) => m.role)).toEqual(['voter', 'observer']);
  });

  const cases: [string, string, string][] = [
    ['n1=127.0.0.1:7001,n1=127.0.0.1:7002', 'members', "member id 'n1' appears twice"],
    ['n1=127.0.0.1:7001,n2=127.0.0.1:7001', 'members', 'have the same address'],
    ['n1=127.0.0.1:7001,n2=127.0.0.1:70000', 'members', 'ports are 1..65535'],
    ['n1=127.0.0.1:7001,n2=127.0.0.1:0', 'members', 'ports are 1..65535'],
    ['n1=127.0.0.1:7001,n2=nohost', 'members', 'not host:port'],
    ['n1=127.0.0.1:7001:observer', 'members', 'at least one voter'],
    ['n1=127.0.0.1:7001,n2=127.0.0.1:7002:leader', 'members', "role 'leader'"],
    ['n1=127.0.0.1:7001,127.0.0.1:7002', 'members', 'id=host:port[:role]'],
    ['n2=127.0.0.1:7002,n3=127.0.0.1:7003', 'nodeId', 'must be one of the members'],
    ['n1=127.0.0.1:7999,n2=127.0.0.1:7002', 'advertise', "must equal member 'n1''s address"],
  ];
  it.each(cases)('rejects %s naming %s', (members, key, text) => {
    const e = errorOf(() => load(withFlag('--members', members)));
    expect(e.key).toBe(key);
    expect(e.message).toContain(`config key '${key}'`);
    expect(e.message).toContain(text);
  });

  it.each(['raft', 'multipaxos', 'zab'])('accepts a witness under %s', (protocol) => {
    const c = load([...withFlag('--members', 'n1=127.0.0.1:7001,n2=127.0.0.1:7002,n3=127.0.0.1:7003:witness'), '--protocol', protocol]);
    expect(c.protocol).toBe(protocol);
    expect(c.members.map((m) => m.role)).toEqual(['voter', 'voter', 'witness']);
  });

  it.each(['raft', 'multipaxos'])('refuses under %s witnesses that leave fewer data voters than the failures its quorum survives', (protocol) => {
    const e = errorOf(() => load([...withFlag('--members', 'n1=127.0.0.1:7001,n2=127.0.0.1:7002:witness,n3=127.0.0.1:7003:witness'), '--protocol', protocol]));
    expect(e.key).toBe('members');
    expect(e.message).toContain('members list 1 data voter and 2 witnesses: a quorum of 2 of 3 survives 1 failure, but 1 may stop every data voter');
  });

  it('takes --no-log-preallocate (preallocation on by default), from the environment too, and refuses a value that is not a boolean', () => {
    expect(load().logPreallocate).toBe(true);
    expect(load([...BASE, '--no-log-preallocate']).logPreallocate).toBe(false);
    expect(load(BASE, { QUORUMLITE_LOG_PREALLOCATE: 'false' }).logPreallocate).toBe(false);
    expect(errorOf(() => load(BASE, { QUORUMLITE_LOG_PREALLOCATE: 'sometimes' })).key).toBe('logPreallocate');
  });

  it('takes --rejoin (off by default) and refuses it on a witness, naming the key', () => {
    expect(load().rejoin).toBe(false);
    expect(load([...BASE, '--rejoin']).rejoin).toBe(true);
    expect(load(BASE, { QUORUMLITE_REJOIN: 'true' }).rejoin).toBe(true);
    const members = 'n1=127.0.0.1:7001:witness,n2=127.0.0.1:7002,n3=127.0.0.1:7003';
    const e = errorOf(() => load([...withFlag('--members', members), '--rejoin']));
    expect(e.message).toBe("config key 'rejoin' (flag --rejoin): a witness cannot rejoin yet (member 'n1' is a witness)");
  });

  it('takes --from-backup (off by default), from the environment and a file too, and refuses it on a witness, with --rejoin, or for a missing file', () => {
    const backup = path.join(dir, 'backup.sqlite');
    fs.writeFileSync(backup, '');
    expect(load().fromBackup).toBeNull();
    expect(load([...BASE, '--from-backup', backup]).fromBackup).toBe(backup);
    expect(load(BASE, { QUORUMLITE_FROM_BACKUP: backup }).fromBackup).toBe(backup);
    const file = path.join(dir, 'node.json');
    fs.writeFileSync(file, JSON.stringify({ fromBackup: backup }));
    expect(load([...BASE, '--config', file]).fromBackup).toBe(backup);
    const members = 'n1=127.0.0.1:7001:witness,n2=127.0.0.1:7002,n3=127.0.0.1:7003';
    expect(errorOf(() => load([...withFlag('--members', members), '--from-backup', backup])).message).toBe(
      "config key 'fromBackup' (flag --from-backup): member 'n1' is a witness: it keeps no database to start from a backup (give the backup to the data nodes only)",
    );
    expect(errorOf(() => load([...BASE, '--from-backup', backup, '--rejoin'])).message).toMatch(/'fromBackup'.*cannot be combined with rejoin/);
    const missing = errorOf(() => load([...BASE, '--from-backup', path.join(dir, 'nope.sqlite')]));
    expect(missing.key).toBe('fromBackup');
    expect(missing.message).toMatch(/no such file: '.*nope\.sqlite'/);
  });

  it('names the flag as the source', () => {
    const e = errorOf(() => load(withFlag('--members', 'n1=127.0.0.1:7001:observer')));
    expect(e.message).toBe("config key 'members' (flag --members): must include at least one voter");
  });
});

describe('validation names the key and the source', () => {
  it('electionTimeoutTicks must exceed heartbeatTicks', () => {
    const e = errorOf(() => load([...BASE, '--election-timeout-ticks', '2']));
    expect(e.message).toBe("config key 'electionTimeoutTicks' (flag --election-timeout-ticks): must be greater than heartbeatTicks (2), got 2");
    expect(e.key).toBe('electionTimeoutTicks');
  });

  it('keeps the default election timeout above a long heartbeat interval', () => {
    expect(load(BASE, { QUORUMLITE_HEARTBEAT_TICKS: '60' }).electionTimeoutTicks).toBe(61);
  });

  it('grows the default election timeout with the request size limit, in ticks of the configured length; a set value wins', () => {
    const ticks = (env: Record<string, string>, argv: string[] = []) => load([...BASE, ...argv], env).electionTimeoutTicks;
    // 300 ms up to 2 MiB (the default limit), then 45 ms per further MiB.
    const mib = (n: number) => ({ QUORUMLITE_LIMIT_REQUEST_BYTES_MAX: String(n * 1024 * 1024) });
    expect(ticks({ QUORUMLITE_LIMIT_REQUEST_BYTES_MAX: String(64 * 1024), QUORUMLITE_LIMIT_STATEMENT_BYTES_MAX: String(64 * 1024) })).toBe(12);
    expect(ticks({})).toBe(12);
    expect(ticks(mib(4))).toBe(16);
    expect(ticks(mib(16))).toBe(38);
    expect(ticks({ ...mib(16), QUORUMLITE_TICK_MS: '10' })).toBe(93);
    expect(ticks(mib(64))).toBe(124);
    expect(ticks({}, ['--election-timeout-ticks', '12'])).toBe(12);
  });

  it.each(['zab', 'multipaxos'])('protocol %s is in the registry and takes no raft options', (p) => {
    const c = load(BASE, { QUORUMLITE_PROTOCOL: p });
    expect(c.protocol).toBe(p);
    expect(c.protocolOptions).toEqual({});
  });

  it('refuses a raft option for a protocol that does not have it, naming both', () => {
    const e = errorOf(() => load(BASE, { QUORUMLITE_PROTOCOL: 'zab', QUORUMLITE_PRE_VOTE: 'false' }));
    expect(e.message).toMatch(/preVote/);
    expect(e.message).toMatch(/zab/);
  });

  it.each(['pbft', 'viewstamped'])('protocol %s, which the registry does not hold, is refused with the known names', (p) => {
    const e = errorOf(() => load(BASE, { QUORUMLITE_PROTOCOL: p }));
    expect(e.key).toBe('protocol');
    expect(e.message).toBe(`config key 'protocol' (env QUORUMLITE_PROTOCOL): must be one of ${PROTOCOL_NAMES.map((n) => `'${n}'`).join(', ')}, got '${p}'`);
  });

  it("hands the protocol its own options, declared by its ProtocolModule, defaults filled in", () => {
    expect(load(BASE).protocolOptions).toEqual(Object.fromEntries(raft.options.map((s) => [s.key, s.defaultValue])));
    expect(Object.keys(load(BASE).protocolOptions)).toEqual(['preVote', 'checkQuorum']);
  });

  const numbers: [string, string, string][] = [
    ['--tick-ms', '0', 'tickMs'],
    ['--tick-ms', '-5', 'tickMs'],
    ['--tick-ms', '2.5', 'tickMs'],
    ['--tick-ms', 'fast', 'tickMs'],
    ['--request-timeout-ms', '99999999999', 'requestTimeoutMs'],
    ['--snapshot-every-entries', '0', 'snapshotEveryEntries'],
    ['--limit-result-rows-max', '0', 'limits.resultRowsMax'],
    ['--limit-grpc-message-bytes-max', '1024', 'limits.grpcMessageBytesMax'],
  ];
  it.each(numbers)('%s %s is not a positive integer in range', (flag, value, key) => {
    const e = errorOf(() => load([...BASE, flag, value]));
    expect(e.key).toBe(key);
    expect(e.message).toMatch(new RegExp(`^config key '${key}' \\(flag ${flag}\\): must be an integer from \\d+ to \\d+, got `));
  });

  it('a JSON number given as a string is rejected with the file as source', () => {
    const file = writeJson({ tickMs: '25' });
    const e = errorOf(() => load([...BASE, '--config', file]));
    expect(e.message).toBe(`config key 'tickMs' (file ${file}): must be an integer from 1 to 60000, got '25'`);
  });

  it('limits must nest inside the gRPC message size', () => {
    const e = errorOf(() => load([...BASE, '--limit-max-bytes-per-message', String(128 * 1024 * 1024)]));
    expect(e.key).toBe('limits.bytesPerMessageMax');
    expect(e.message).toContain('must be at most limits.grpcMessageBytesMax');
  });

  it('limits named max… before units went last are still read from flags, the environment and files', () => {
    expect(load([...BASE, '--limit-max-entries-per-message', '7']).limits.entriesPerMessageMax).toBe(7);
    expect(load(BASE, { QUORUMLITE_LIMIT_MAX_INFLIGHT_MESSAGES: '9' }).limits.inflightMessagesMax).toBe(9);
    const file = writeJson({ limits: { maxUncommittedEntries: 11, maxBytesPerMessage: 4096 } });
    const fromFile = load([...BASE, '--config', file]).limits;
    expect([fromFile.uncommittedEntriesMax, fromFile.bytesPerMessageMax]).toEqual([11, 4096]);
    expect(load([...BASE, '--limit-entries-per-message-max', '5']).limits.entriesPerMessageMax).toBe(5);
    expect(describeConfig()).toContain('formerly --limit-max-entries-per-message');
  });

  it('logLevel lists its values', () => {
    const e = errorOf(() => load([...BASE, '--log-level', 'loud']));
    expect(e.message).toBe("config key 'logLevel' (flag --log-level): must be one of 'debug', 'info', 'warn', 'error', got 'loud'");
  });

  it('listen must be host:port', () => {
    const e = errorOf(() => load(withFlag('--listen', '127.0.0.1')));
    expect(e.key).toBe('listen');
    expect(e.message).toContain("(flag --listen)");
  });

  it.each([
    ['metricsListen', '--metrics-listen', 'QUORUMLITE_METRICS_LISTEN'],
    ['dashboardListen', '--dashboard-listen', 'QUORUMLITE_DASHBOARD_LISTEN'],
  ] as const)('%s is off by default, a host:port when set, and never the gRPC address', (key, flag, env) => {
    expect(load()[key]).toBeNull();
    expect(load([...BASE, flag, '127.0.0.1:9101'])[key]).toBe('127.0.0.1:9101');
    expect(load(BASE, { [env]: '127.0.0.1:9102' })[key]).toBe('127.0.0.1:9102');
    const bad = errorOf(() => load([...BASE, flag, '9101']));
    expect(bad.key).toBe(key);
    expect(bad.message).toContain('must be host:port');
    expect(errorOf(() => load([...BASE, flag, '127.0.0.1:7001'])).message).toContain('must differ from listen');
  });

  it('dashboardListen is not the metrics address either', () => {
    expect(errorOf(() => load([...BASE, '--metrics-listen', '127.0.0.1:9101', '--dashboard-listen', '127.0.0.1:9101'])).message).toContain('must differ from metricsListen');
  });

  it('listen on 0.0.0.0 requires advertise', () => {
    const e = errorOf(() => load(withFlag('--listen', '0.0.0.0:7001')));
    expect(e.key).toBe('advertise');
    expect(e.message).toContain('must be given when listen binds all interfaces');
    const c = load([...withFlag('--listen', '0.0.0.0:7001'), '--advertise', '127.0.0.1:7001']);
    expect([c.listen, c.advertise]).toEqual(['0.0.0.0:7001', '127.0.0.1:7001']);
  });

  it('dataDir must not be empty', () => {
    const e = errorOf(() => load(withFlag('--data-dir', '')));
    expect(e.key).toBe('dataDir');
  });

  it('unknown keys in the file are named', () => {
    const file = writeJson({ tickMS: 25 });
    const e = errorOf(() => load([...BASE, '--config', file]));
    expect(e.code).toBe('unknown_key');
    expect(e.message).toMatch(new RegExp(`^config key 'tickMS' \\(file ${file}\\): unknown key`));
    const nested = writeJson({ limits: { rowsMax: 1 } });
    expect(errorOf(() => load([...BASE, '--config', nested])).key).toBe('limits.rowsMax');
  });

  it('unknown flags, unknown QUORUMLITE_ variables and stray arguments are named', () => {
    expect(errorOf(() => load([...BASE, '--tick', '5'])).message).toBe("config flag '--tick' (command line): unknown flag; see --help for the valid flags");
    expect(errorOf(() => load(BASE, { QUORUMLITE_TICKMS: '5' })).key).toBe('QUORUMLITE_TICKMS');
    expect(errorOf(() => load([...BASE, 'extra'])).key).toBe('extra');
    expect(errorOf(() => load([...BASE, '--tick-ms'])).message).toContain("'--tick-ms' (command line): needs a value");
  });

  it('an unreadable or invalid config file is named', () => {
    expect(errorOf(() => load([...BASE, '--config', path.join(dir, 'missing.json')])).message).toMatch(/^config key 'config' \(flag --config\): cannot read/);
    const bad = path.join(dir, 'bad.json');
    fs.writeFileSync(bad, '{ nope');
    expect(errorOf(() => load(BASE, { QUORUMLITE_CONFIG: bad })).message).toMatch(/^config key 'config' \(env QUORUMLITE_CONFIG\): .* is not valid JSON/);
  });

  it('ignores unrelated variables and empty QUORUMLITE_ values', () => {
    expect(load(BASE, { PATH: '/bin', QUORUMLITE_TICK_MS: '' }).tickMs).toBe(25);
  });
});

describe('describeConfig', () => {
  it('lists every key, flag, env var and default', () => {
    const help = describeConfig();
    for (const def of KEYS) {
      expect(help).toContain(def.flag);
      expect(help).toContain(def.env);
      expect(help).toContain(`key ${def.key})`);
    }
    expect(help).toContain('--config');
    expect(help).toContain('QUORUMLITE_CONFIG');
    expect(help).toContain('default: 25');
    expect(help).toContain('--no-pre-vote');
    expect(help).toContain('default: 67108864 (64 MiB)');
  });
});

describe('TLS keys', () => {
  const tlsFlags = (d: string, name = 'n1') => ['--tls-cert', path.join(d, `${name}.crt`), '--tls-key', path.join(d, `${name}.key`), '--tls-ca', path.join(d, 'ca.crt')];

  it('are off by default and read all three files when set', () => {
    expect(load().tls).toBeNull();
    makeCerts(dir, { nodes: ['n1', 'n2'], clients: [] });
    const tls = load([...BASE, ...tlsFlags(dir)]).tls;
    expect(tls?.certFile).toBe(path.join(dir, 'n1.crt'));
    expect(tls?.cert.toString()).toContain('BEGIN CERTIFICATE');
    expect(tls?.key.toString()).toContain('PRIVATE KEY');
  });

  it('need each other: one alone names the missing key', () => {
    makeCerts(dir, { nodes: ['n1'], clients: [] });
    const err = errorOf(() => load([...BASE, '--tls-cert', path.join(dir, 'n1.crt')]));
    expect(err.key).toBe('tlsKey');
    expect(err.message).toMatch(/'tlsCert' is set/);
  });

  it('an unreadable, wrong or mismatched file stops the node with a sentence naming key and file', () => {
    makeCerts(dir, { nodes: ['n1', 'n2'], clients: [] });
    const missing = path.join(dir, 'nope.crt');
    const unreadable = errorOf(() => load([...BASE, ...tlsFlags(dir), '--tls-cert', missing]));
    expect(unreadable.key).toBe('tlsCert');
    expect(unreadable.message).toContain(`cannot read ${missing}: ENOENT`);
    const notPem = errorOf(() => load([...BASE, ...tlsFlags(dir), '--tls-key', path.join(dir, 'n1.crt')]));
    expect(notPem.key).toBe('tlsKey');
    expect(notPem.message).toContain('is not a PEM private key');
    const otherKey = errorOf(() => load([...BASE, ...tlsFlags(dir), '--tls-key', path.join(dir, 'n2.key')]));
    expect(otherKey.message).toContain(`${path.join(dir, 'n2.key')} is not the key of the certificate in ${path.join(dir, 'n1.crt')}`);
    const otherNode = errorOf(() => load([...BASE, ...tlsFlags(dir, 'n2')]));
    expect(otherNode.key).toBe('tlsCert');
    expect(otherNode.message).toContain(`the certificate in ${path.join(dir, 'n2.crt')} names 'n2' (subject CN), not this node 'n1'`);
    const other = path.join(dir, 'other');
    makeCerts(other, { nodes: ['n1'], clients: [] });
    const foreignCa = errorOf(() => load([...BASE, ...tlsFlags(dir), '--tls-ca', path.join(other, 'ca.crt')]));
    expect(foreignCa.key).toBe('tlsCa');
    expect(foreignCa.message).toContain('did not sign the certificate');
  });
});
