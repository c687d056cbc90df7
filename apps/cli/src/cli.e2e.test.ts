/**
 * The built `quorumlite` command (dist/apps/cli/main.js) against real nodes: `cluster` runs a
 * 3-node cluster in the foreground, the other commands talk to it, Ctrl-C stops it, and the
 * same command brings it back with its data.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const REPO = path.resolve(__dirname, '../../..');
/** QL_E2E_DIST points the test at another build's dist folder; the default is the repository's. */
const DIST = process.env.QL_E2E_DIST ?? path.join(REPO, 'dist');
const CLI = path.join(DIST, 'apps/cli/main.js');
const NODE_BIN = path.join(DIST, 'apps/node/main.js');
const BIN = path.join(REPO, 'bin/quorumlite');
const CLUSTER_START_TIMEOUT_MS = 45_000;

let tmp: string;
let dataDir: string;
let basePort: number;
let addr: string;
let clusterProc: ChildProcess | undefined;
let clusterOut = '';
/** The pid of the node the cluster command restarted after the test killed it. */
let restartedPid: number | undefined;

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

/** Three consecutive free ports (the cluster command takes a base port). */
async function consecutiveFreePorts(count: number): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 20_000 + Math.floor(Math.random() * 30_000);
    const free = await Promise.all(Array.from({ length: count }, (_, i) => portFree(base + i)));
    if (free.every(Boolean)) return base;
  }
  throw new Error('no run of free ports found');
}

function cli(args: string[], input?: string): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { input, encoding: 'utf8', timeout: 30_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Starts `quorumlite cluster` and resolves once it printed the leader line. */
async function startCluster(): Promise<void> {
  clusterOut = '';
  const proc = spawn(process.execPath, [CLI, 'cluster', '--nodes', '3', '--data-dir', dataDir, '--base-port', String(basePort)], { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
  clusterProc = proc;
  proc.stdout.on('data', (d: Buffer) => (clusterOut += d.toString()));
  proc.stderr.on('data', (d: Buffer) => (clusterOut += d.toString()));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`cluster did not start within ${CLUSTER_START_TIMEOUT_MS} ms:\n${clusterOut}`)), CLUSTER_START_TIMEOUT_MS);
    const check = (): void => {
      if (!/Ctrl-C stops every node/.test(clusterOut)) return;
      clearTimeout(timer);
      resolve();
    };
    proc.stdout.on('data', check);
    proc.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`cluster exited with ${code}:\n${clusterOut}`));
    });
  });
}

/** Ctrl-C, then the exit code (SIGKILL after a bound, so the test never hangs). */
async function interruptCluster(): Promise<number | null> {
  const proc = clusterProc;
  clusterProc = undefined;
  if (!proc || proc.exitCode !== null || proc.signalCode !== null) return proc?.exitCode ?? null;
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  proc.kill('SIGINT');
  const timer = setTimeout(() => proc.kill('SIGKILL'), 15_000);
  const code = await exited;
  clearTimeout(timer);
  return code;
}

const TERMINAL_WAIT_MS = 20_000;

interface Terminal {
  type(keys: string): void;
  /** Resolves once the text printed so far (cursor escapes removed) matches `pattern`; rejects after TERMINAL_WAIT_MS. */
  waitFor(pattern: RegExp): Promise<void>;
  output(): string;
  exited: Promise<number | null>;
  kill(): void;
}

/**
 * Runs the CLI on a real pseudo-terminal through util-linux `script`, so readline sees a TTY and
 * keystrokes (Ctrl-C is 0x03, Ctrl-D 0x04) arrive as a user's would.
 */
function startInTerminal(args: string[]): Terminal {
  const quote = (s: string): string => `'${s.replace(/'/g, "'\\''")}'`;
  const command = [process.execPath, ...args].map(quote).join(' ');
  const proc = spawn('script', ['-qefc', command, '/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  const plain = (): string => out.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '');
  const listeners = new Set<() => void>();
  const onData = (d: Buffer): void => {
    out += d.toString();
    for (const l of listeners) l();
  };
  proc.stdout.on('data', onData);
  proc.stderr.on('data', onData);
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  return {
    type: (keys) => void proc.stdin.write(keys),
    output: plain,
    exited,
    kill: () => {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
    },
    waitFor: (pattern) =>
      new Promise<void>((resolve, reject) => {
        const check = (): void => {
          if (!pattern.test(plain())) return;
          listeners.delete(check);
          clearTimeout(timer);
          resolve();
        };
        const timer = setTimeout(() => {
          listeners.delete(check);
          reject(new Error(`terminal output never matched ${String(pattern)}:\n${JSON.stringify(plain())}`));
        }, TERMINAL_WAIT_MS);
        listeners.add(check);
        check();
      }),
  };
}

const CLUSTER_SAYS_WAIT_MS = 30_000;

/** Resolves with the first match of `pattern` in what the cluster printed after offset `from`. */
async function clusterSays(pattern: RegExp, from: number): Promise<RegExpMatchArray> {
  const deadline = Date.now() + CLUSTER_SAYS_WAIT_MS;
  for (;;) {
    const m = clusterOut.slice(from).match(pattern);
    if (m) return m;
    if (Date.now() > deadline) throw new Error(`the cluster never printed ${String(pattern)}:\n${clusterOut.slice(from)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

function pidsOf(out: string): number[] {
  return [...out.matchAll(/ pid (\d+) /g)].map((m) => Number(m[1]));
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

beforeAll(async () => {
  if (!fs.existsSync(NODE_BIN) || !fs.existsSync(CLI)) throw new Error(`${fs.existsSync(CLI) ? NODE_BIN : CLI} not found: run npm run build first`);
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ql-cli-e2e-'));
  dataDir = path.join(tmp, 'data');
  basePort = await consecutiveFreePorts(3);
  addr = `127.0.0.1:${basePort}`;
  await startCluster();
});

afterAll(async () => {
  await interruptCluster();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

describe('quorumlite against a local cluster', () => {
  it('cluster prints the nodes, their log files, the leader and how to open a shell', () => {
    expect(clusterOut).toContain(`n1  127.0.0.1:${basePort}  voter`);
    for (const id of ['n1', 'n2', 'n3']) expect(clusterOut).toContain(`  log ${path.join(dataDir, 'logs', `${id}.log`)}\n`);
    expect(clusterOut).toContain('A node that exits is restarted (--no-restart turns this off).');
    expect(clusterOut).toMatch(/leader: n[123] at 127\.0\.0\.1:\d+/);
  });

  it('the banner\'s shell command works as printed from the repository root', () => {
    const line = clusterOut.split('\n').find((l) => / shell --addr /.test(l));
    expect(line?.trim()).toBe(`./bin/quorumlite shell --addr ${addr},127.0.0.1:${basePort + 1},127.0.0.1:${basePort + 2}`);
    // As a user would paste it: through a shell, from the repository root, with no npm link.
    const r = spawnSync('sh', ['-c', line!.trim()], { cwd: REPO, input: 'SELECT 40 + 2 AS answer;\n', encoding: 'utf8', timeout: 30_000, env: { ...process.env, PATH: `${path.dirname(process.execPath)}:/usr/bin:/bin` } });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('42');
  });

  it('shell runs a piped script and exits non-zero when a statement failed', () => {
    const script = [
      'CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT, b BLOB);',
      "INSERT INTO t VALUES (1, 'ann', x'00ff'), (2, NULL,",
      '  NULL);',
      '.tables',
      '.schema t',
      'SELECT id, name, b FROM t ORDER BY id;',
      "INSERT INTO t VALUES (1, 'dup', NULL);",
      '.timer on',
      'SELECT 9223372036854775807 AS big;',
    ].join('\n');
    const r = cli(['shell', '--addr', addr], `${script}\n`);
    expect(r.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^error \(sql_error SQLITE_CONSTRAINT_\w+\): UNIQUE constraint failed: t\.id$/)]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/0 rows affected \(last insert rowid 0, index \d+\)/);
    expect(r.stdout).toMatch(/2 rows affected \(last insert rowid 2, index \d+\)/);
    expect(r.stdout).toContain('\nt\n');
    expect(r.stdout).toContain('CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT, b BLOB);');
    expect(r.stdout).toContain("1 | ann  | x'00ff'");
    expect(r.stdout).toContain('2 | NULL | NULL');
    expect(r.stdout).toContain('9223372036854775807');
    expect(r.stdout).toMatch(/time: \d+\.\d ms/);
    expect(r.stdout).not.toContain('_quorumlite');
  });

  it('shell at a terminal: Ctrl-C abandons the typed statement, Ctrl-D on an empty line leaves', async () => {
    expect(cli(['exec', '--addr', addr, 'CREATE TABLE kv (k TEXT PRIMARY KEY, v TEXT)']).code).toBe(0);
    const term = startInTerminal([CLI, 'shell', '--addr', addr]);
    try {
      await term.waitFor(/quorumlite> $/);
      // A statement on an earlier line, then Ctrl-C at the continuation prompt.
      term.type("INSERT INTO kv VALUES ('ctrlc','x')\r");
      await term.waitFor(/\.\.\.> $/);
      term.type('\x03');
      await term.waitFor(/\^C\r?\nquorumlite> $/);
      // A complete statement still on the line being typed, then Ctrl-C.
      term.type("INSERT INTO kv VALUES ('ctrlc2','y');");
      await term.waitFor(/'y'\);$/);
      term.type('\x03');
      await term.waitFor(/\^C\r?\nquorumlite> $/);
      // Ctrl-C on an empty line says how to leave, and the shell stays.
      term.type('\x03');
      await term.waitFor(/to leave, press Ctrl-D on an empty line or type \.quit\r?\nquorumlite> $/);
      term.type('SELECT count(*) AS n FROM kv;\r');
      await term.waitFor(/\n\s*0\s*\r?\n[\s\S]*quorumlite> $/);
      term.type('\x04');
      expect(await term.exited).toBe(0);
    } finally {
      term.kill();
    }
    expect(term.output()).not.toMatch(/row(s)? affected/);
    const q = cli(['query', '--addr', addr, '--json', "SELECT count(*) FROM kv WHERE k IN ('ctrlc', 'ctrlc2')"]);
    expect(JSON.parse(q.stdout)).toMatchObject({ rows: [['0']] });
  });

  it('exec and query speak JSON with exact integers', () => {
    const w = cli(['exec', '--addr', addr, '--json', '--request-id', 'cli-e2e-1', 'INSERT INTO t VALUES (?, ?, ?)', '--param', '3', '--param', 'text:cy', '--param', "x'ab'"]);
    expect(w.stderr).toBe('');
    expect(w.code).toBe(0);
    const written = JSON.parse(w.stdout) as { results: { rowsAffected: number; lastInsertRowid: string }[]; index: string; duplicate: boolean };
    expect(written.results).toEqual([{ rowsAffected: 1, lastInsertRowid: '3' }]);
    expect(written.duplicate).toBe(false);

    const again = cli(['exec', '--addr', addr, '--json', '--request-id', 'cli-e2e-1', 'INSERT INTO t VALUES (?, ?, ?)', '--param', '3', '--param', 'text:cy', '--param', "x'ab'"]);
    expect(JSON.parse(again.stdout)).toMatchObject({ duplicate: true });

    const q = cli(['query', '--addr', addr, '--json', '--consistency', 'session', '--min-index', written.index, 'SELECT id, name, b FROM t WHERE id >= ? ORDER BY id', '--param', '2']);
    expect(q.code).toBe(0);
    expect(JSON.parse(q.stdout)).toMatchObject({
      columns: [{ name: 'id' }, { name: 'name' }, { name: 'b' }],
      rows: [
        ['2', null, null],
        ['3', 'cy', { blob: 'ab' }],
      ],
      truncated: false,
    });
  });

  it('exec reports SQL errors with exit code 1', () => {
    const r = cli(['exec', '--addr', addr, 'INSERT INTO missing VALUES (1)']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^error \(sql_error SQLITE_ERROR\): no such table: missing\n$/);
  });

  it('status shows the cluster, as text and JSON', () => {
    const text = cli(['status', '--addr', addr]);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/^node {6}n1 \(\w+\)/);
    expect(text.stdout).toMatch(/leader {4}n[123] at 127\.0\.0\.1:\d+/);
    const json = JSON.parse(cli(['status', '--addr', addr, '--json']).stdout) as { nodeId: string; term: string; members: unknown[] };
    expect(json.nodeId).toBe('n1');
    expect(json.term).toMatch(/^\d+$/);
    expect(json.members).toHaveLength(3);
  });

  it('leader transfer hands leadership to the member named (from any node), refuses a non-member by name, and picks one itself without --to', () => {
    const leaderOf = (): string => (JSON.parse(cli(['status', '--addr', addr, '--json']).stdout) as { leaderId: string }).leaderId;
    const before = leaderOf();
    const target = ['n1', 'n2', 'n3'].find((id) => id !== before)!;
    const moved = cli(['leader', 'transfer', '--to', target, '--addr', addr]);
    expect(moved.stderr).toBe('');
    expect(moved.code).toBe(0);
    expect(moved.stdout).toMatch(new RegExp(`^leadership moved from ${before} to ${target} \\(127\\.0\\.0\\.1:\\d+\\) in \\d+ ms\\n$`));
    expect(leaderOf()).toBe(target);
    const refused = cli(['leader', 'transfer', '--to', 'n9', '--addr', addr]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/no member 'n9'; members are n1, n2, n3/);
    const json = JSON.parse(cli(['leader', 'transfer', '--json', '--addr', addr]).stdout) as { from: string; to: string };
    expect(json.from).toBe(target);
    expect(json.to).not.toBe(target);
  });

  it('members list shows every member with its role and address; a change the cluster cannot make is refused with a sentence', () => {
    const listed = cli(['members', 'list', '--addr', addr]);
    expect(listed.code).toBe(0);
    expect(listed.stdout.split('\n').slice(0, 4)).toEqual(['id  role      address', ...[0, 1, 2].map((i) => `n${i + 1}  voter     127.0.0.1:${basePort + i}`)]);
    const json = JSON.parse(cli(['members', 'list', '--json', '--addr', addr]).stdout) as { members: { id: string }[]; changePending: boolean };
    expect(json.members.map((m) => m.id)).toEqual(['n1', 'n2', 'n3']);
    expect(json.changePending).toBe(false);
    const refused = cli(['members', 'remove', 'n9', '--addr', addr]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/no member 'n9'; members are n1 \(voter\), n2 \(voter\), n3 \(voter\)/);
    const badAddress = cli(['members', 'add', 'n4', 'nowhere', '--addr', addr]);
    expect(badAddress.code).toBe(1);
    expect(badAddress.stderr).toMatch(/address must be host:port, not 'nowhere'/);
  });

  it('status --json of a follower gives null match indexes where the table shows -', () => {
    const addrs = [0, 1, 2].map((i) => `127.0.0.1:${basePort + i}`);
    const statuses = addrs.map((a) => ({ a, json: JSON.parse(cli(['status', '--addr', a, '--json']).stdout) as { nodeId: string; role: string; members: { id: string; matchIndex: string | null }[] } }));
    const follower = statuses.find((s) => s.json.role === 'follower')!;
    const table = cli(['status', '--addr', follower.a]).stdout;
    for (const m of follower.json.members) {
      const row = table.split('\n').find((l) => l.startsWith(`${m.id} `))!;
      const shown = row.split('|')[3]!.trim();
      if (m.id === follower.json.nodeId) expect(m.matchIndex).toBe(shown);
      else expect([shown, m.matchIndex]).toEqual(['-', null]);
    }
  });

  it('backup writes the database and its SQL text, never over a file without --force; cluster --from-backup starts from it, and the shell loads the text', async () => {
    expect(cli(['exec', '--addr', addr, 'CREATE TABLE bk (id INTEGER PRIMARY KEY, name TEXT, score REAL)']).code).toBe(0);
    expect(cli(['exec', '--addr', addr, "INSERT INTO bk VALUES (1, 'it''s', 1.0), (2, NULL, 2.5)"]).code).toBe(0);
    const out = path.join(tmp, 'db.backup');
    const made = cli(['backup', '--addr', addr, '--out', out]);
    expect(made.stderr).toBe('');
    expect(made.code).toBe(0);
    expect(made.stdout).toMatch(/^backup of node n[123] \(raft\) at applied index \d+: \d+ bytes, sha256 [0-9a-f]{64} -> /);
    expect(fs.existsSync(`${out}.tmp`)).toBe(false);
    const again = cli(['backup', '--addr', addr, '--out', out]);
    expect(again.code).toBe(2);
    expect(again.stderr).toContain(`--out: ${out} exists; pass --force to overwrite it`);
    expect(cli(['backup', '--addr', addr, '--out', out, '--force', '--json']).code).toBe(0);
    const sqlOut = path.join(tmp, 'db.sql');
    expect(cli(['backup', '--addr', addr, '--out', sqlOut, '--format', 'sql']).code).toBe(0);
    const text = fs.readFileSync(sqlOut, 'utf8');
    expect(text).toMatch(/^-- quorumlite backup of node n[123] \(raft\) at applied index \d+\n/);
    // One transaction around every table (the earlier tests' too), each schema before its rows.
    expect(text).toMatch(/\nBEGIN TRANSACTION;\n[\s\S]*\nCOMMIT;\n$/);
    expect(text).toContain('\nCREATE TABLE bk (id INTEGER PRIMARY KEY, name TEXT, score REAL);\nINSERT INTO "bk"("id","name","score") VALUES(1,\'it\'\'s\',1.0);');
    expect(text).not.toContain('_quorumlite_');

    // A second cluster from the backup, on its own ports and data dir.
    const restoredBase = await consecutiveFreePorts(3);
    const restoredAddr = `127.0.0.1:${restoredBase}`;
    const proc = spawn(process.execPath, [CLI, 'cluster', '--data-dir', path.join(tmp, 'restored'), '--base-port', String(restoredBase), '--from-backup', out], { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
    let said = '';
    proc.stdout.on('data', (d: Buffer) => (said += d.toString()));
    proc.stderr.on('data', (d: Buffer) => (said += d.toString()));
    const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    try {
      const deadline = Date.now() + CLUSTER_START_TIMEOUT_MS;
      while (!/Ctrl-C stops every node/.test(said)) {
        if (Date.now() > deadline || proc.exitCode !== null) throw new Error(`the restored cluster did not start:\n${said}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      const rows = (a: string, consistency = 'stale'): unknown => (JSON.parse(cli(['query', '--addr', a, '--consistency', consistency, '--json', 'SELECT id, name, score FROM bk ORDER BY id']).stdout) as { rows: unknown }).rows;
      const expected = rows(addr);
      expect(expected).toEqual([['1', "it's", 1], ['2', null, 2.5]]);
      for (let i = 0; i < 3; i++) expect(rows(`127.0.0.1:${restoredBase + i}`)).toEqual(expected);
      // The SQL text loads through the shell: one request between its BEGIN and COMMIT.
      // Every table the dump creates goes first (the earlier tests made some of their own).
      for (const [, table] of text.matchAll(/^CREATE TABLE (\w+) /gm)) expect(cli(['exec', '--addr', restoredAddr, `DROP TABLE ${table}`]).code).toBe(0);
      const loaded = cli(['shell', '--addr', restoredAddr], text);
      expect(loaded.stderr).toBe('');
      expect(loaded.code).toBe(0);
      expect(rows(restoredAddr, 'linearizable')).toEqual(expected);
    } finally {
      proc.kill('SIGINT');
      const timer = setTimeout(() => proc.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
    }
  }, 90_000);

  it('bin/quorumlite launches the built CLI, or says to build it', () => {
    const r = spawnSync(process.execPath, [BIN, 'status', '--addr', addr, '--json'], { encoding: 'utf8', timeout: 30_000 });
    if (fs.existsSync(path.join(REPO, 'dist/apps/cli/main.js'))) {
      expect(r.status).toBe(0);
      expect(JSON.parse(r.stdout)).toMatchObject({ nodeId: 'n1' });
    } else {
      expect(r.status).toBe(2);
      expect(r.stderr).toContain('run `npm run build` first');
    }
  });

  it('a node killed with SIGKILL is restarted by the cluster command and answers again', async () => {
    const [, victim] = pidsOf(clusterOut);
    const seen = clusterOut.length;
    process.kill(victim!, 'SIGKILL');
    const back = await clusterSays(/node n2 is back \(pid (\d+)\)/, seen);
    expect(clusterOut.slice(seen)).toMatch(/node n2 exited \(SIGKILL\)[\s\S]*restarting node n2 in \d+ ms \(attempt 1 of \d+\)/);
    restartedPid = Number(back[1]);
    expect(restartedPid).not.toBe(victim);
    expect(alive(restartedPid)).toBe(true);
    const status = cli(['status', '--addr', `127.0.0.1:${basePort + 1}`, '--json', '--retry-ms', '0']);
    expect(status.code).toBe(0);
    expect(JSON.parse(status.stdout)).toMatchObject({ nodeId: 'n2' });
  });

  it('Ctrl-C stops every node, and the same command brings the data back', async () => {
    expect(pidsOf(clusterOut)).toHaveLength(3);
    const pids = [...pidsOf(clusterOut), ...(restartedPid === undefined ? [] : [restartedPid])];
    expect(await interruptCluster()).toBe(0);
    for (const pid of pids) expect(alive(pid)).toBe(false);
    expect(cli(['status', '--addr', addr, '--retry-ms', '0']).code).toBe(3);

    await startCluster();
    expect(clusterOut).toContain('restarted with its data');
    const q = cli(['query', '--addr', addr, '--json', 'SELECT count(*) AS n FROM t']);
    expect(JSON.parse(q.stdout)).toMatchObject({ rows: [['3']] });
  });
});

describe('a node whose listen address is taken', () => {
  it('says so in one sentence naming the address and --listen, and leaves no data dir behind', async () => {
    const holder = net.createServer();
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
    try {
      const port = (holder.address() as net.AddressInfo).port;
      const listen = `127.0.0.1:${port}`;
      const nodeData = path.join(tmp, 'taken', 'n1');
      const r = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
        const child = spawn(process.execPath, [NODE_BIN, '--node-id', 'n1', '--listen', listen, '--data-dir', nodeData, '--members', `n1=${listen}`], { stdio: ['ignore', 'ignore', 'pipe'] });
        let stderr = '';
        child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
        const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
        child.once('exit', (code) => {
          clearTimeout(timer);
          resolve({ code, stderr });
        });
      });
      expect(r.stderr).toBe(`quorumlite: failed to start: ${listen} is already in use by another process; stop it or choose another address with --listen (QUORUMLITE_LISTEN)\n`);
      expect(r.code).toBe(1);
      expect(fs.existsSync(nodeData)).toBe(false);
    } finally {
      await new Promise<void>((resolve) => holder.close(() => resolve()));
    }
  });
});
