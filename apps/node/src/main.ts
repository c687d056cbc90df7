/**
 * quorumlite node. Flags, QUORUMLITE_* environment variables and a JSON --config file
 * set the same keys; `--help` lists them all. A wrong value stops the node with one
 * sentence that names the key.
 */
import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { ConfigError, describeConfig, loadConfig, processInput, type NodeConfig } from '@quorumlite/config';
import { NodeModule } from './node.module';

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
      process.exit(2);
    }
    throw e;
  }
  const app = await NestFactory.createApplicationContext(NodeModule.forConfig(config), { logger: ['error', 'warn'] });
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
  process.exit(1);
});
