/**
 * Test support: builds a runnable `bench-worker` from the TypeScript sources (TypeScript's own
 * transpiler, CommonJS, into a temp dir) so tests drive the same child processes the CLI bundle
 * starts, without needing `npm run build`.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as ts from 'typescript';
import type { WorkerCommand } from './launcher';

export interface BuiltWorker {
  worker: WorkerCommand;
  dir: string;
  remove(): void;
}

export function buildWorkerForTests(): BuiltWorker {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'quorumlite-bench-worker-'));
  const srcDir = __dirname;
  for (const file of fs.readdirSync(srcDir)) {
    if (!file.endsWith('.ts') || file.endsWith('.test.ts') || file.endsWith('.d.ts')) continue;
    const out = ts.transpileModule(fs.readFileSync(path.join(srcDir, file), 'utf8'), {
      compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true },
      fileName: file,
    });
    fs.writeFileSync(path.join(dir, file.replace(/\.ts$/, '.js')), out.outputText);
  }
  const entry = path.join(dir, 'entry.js');
  // Like the CLI: sets the exit code and lets the process end once nothing is left running.
  fs.writeFileSync(entry, "require('./worker').runBenchWorker(process.argv.slice(2)).then((code) => { process.exitCode = code; });\n");
  // Packages resolve from the repository's node_modules although the files live in a temp dir.
  const nodeModules = path.resolve(srcDir, '..', '..', 'node_modules');
  return {
    worker: { command: process.execPath, prefixArgs: [entry], env: { ...process.env, NODE_PATH: nodeModules } },
    dir,
    remove: () => fs.rmSync(dir, { recursive: true, force: true }),
  };
}
