/**
 * quorumlite node. Flags, QUORUMLITE_* environment variables and a JSON --config file
 * set the same keys; `--help` lists them all. A wrong value stops the node with one
 * sentence that names the key.
 */
import './runtime-flags';
import 'reflect-metadata';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { NestFactory } from '@nestjs/core';
import { ConfigError, describeConfig, loadConfig, parseHostPort, processInput, type NodeConfig } from '@quorumlite/config';
import { NodeModule } from './node.module';
import { CodedError } from '@quorumlite/errors';
import { readTokenFile } from '@quorumlite/transport';

const EXIT_START_FAILED = 1;
const EXIT_CONFIG = 2;

/** Thrown when the listen address is taken; its message is the one sentence the user sees. */
class AddressInUseError extends CodedError<'address_in_use'> {
  override readonly name = 'AddressInUseError';
  constructor(message: string) {
    super('address_in_use', message);
  }
}

function addressInUse(listen: string): AddressInUseError {
  return new AddressInUseError(`${listen} is already in use by another process; stop it or choose another address with --listen (QUORUMLITE_LISTEN)`);
}

function isAddressInUse(e: unknown): boolean {
  return e instanceof Error && ('code' in e && e.code === 'EADDRINUSE' || /EADDRINUSE/.test(e.message));
}

/**
 * Binds the listen address once and lets it go, before anything is written to the data dir:
 * a taken port then fails the start with nothing left behind. (The gRPC bind later can still
 * lose a race; that error is translated the same way.)
 */
function checkListenFree(listen: string): Promise<void> {
  const parsed = parseHostPort(listen);
  if (typeof parsed === 'string') return Promise.resolve();
  const host = parsed.host.replace(/^\[(.*)\]$/, '$1');
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', (e: unknown) => (isAddressInUse(e) ? reject(addressInUse(listen)) : resolve()));
    probe.listen({ host, port: parsed.port, exclusive: true }, () => probe.close(() => resolve()));
  });
}

/** Removes the data dir after a failed start if this start created it and left it empty. */
function removeIfCreatedAndEmpty(dataDir: string, existedBefore: boolean): void {
  if (existedBefore) return;
  try {
    if (fs.readdirSync(dataDir).length === 0) fs.rmdirSync(dataDir);
  } catch {
    // Not there (never created) or not empty: leave it.
  }
}

async function main(): Promise<void> {
  const input = processInput();
  const argv = input.argv;
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(describeConfig() + '\n');
    return;
  }
  let config: NodeConfig;
  try {
    config = loadConfig(input);
  } catch (e: unknown) {
    if (e instanceof ConfigError) {
      process.stderr.write(`quorumlite: ${e.message}\n`);
      process.exit(EXIT_CONFIG);
    }
    throw e;
  }
  if (config.authTokensFile !== null) {
    try {
      readTokenFile(config.authTokensFile);
    } catch (e: unknown) {
      process.stderr.write(`quorumlite: config key 'authTokens': ${e instanceof Error ? e.message : String(e)}\n`);
      process.exit(EXIT_CONFIG);
    }
  }
  const dataDir = path.resolve(config.dataDir);
  const dataDirExisted = fs.existsSync(dataDir);
  let app: Awaited<ReturnType<typeof NestFactory.createApplicationContext>>;
  try {
    await checkListenFree(config.listen);
    app = await NestFactory.createApplicationContext(NodeModule.forConfig(config), { logger: ['error', 'warn'] });
  } catch (e: unknown) {
    removeIfCreatedAndEmpty(dataDir, dataDirExisted);
    throw isAddressInUse(e) && !(e instanceof AddressInUseError) ? addressInUse(config.listen) : e;
  }
  let closing = false;
  const shutdown = (signal: string): void => {
    if (closing) return;
    closing = true;
    process.stdout.write(JSON.stringify({ t: new Date().toISOString(), level: 'info', node: config.nodeId, msg: `received ${signal}, stopping` }) + '\n');
    const force = setTimeout(() => process.exit(1), 5_000);
    force.unref();
    app.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

main().catch((e: unknown) => {
  process.stderr.write(`quorumlite: failed to start: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(EXIT_START_FAILED);
});
