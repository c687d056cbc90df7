/**
 * The node: NestJS wires config, the replica and one gRPC server (client API, peer
 * traffic, reflection) and owns their lifecycle. Logic lives in libs/.
 */
import { Inject, Injectable, Module, type DynamicModule, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import * as grpc from '@grpc/grpc-js';
import * as fs from 'node:fs';
import type * as http from 'node:http';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { ReflectionService } from '@grpc/reflection';
import type { NodeConfig } from '@quorumlite/config';
import { PROTOCOLS, nodeId } from '@quorumlite/consensus';
import { packageDefinitions } from '@quorumlite/proto';
import { LoopMonitor, Replica, processEntropy, systemClock } from '@quorumlite/replica';
import { channelCredentials, FRAME_OVERHEAD_BYTES, GrpcPeerTransport, serverCredentials, TokenStore } from '@quorumlite/transport';
import { GrpcWriteForwarder } from './forwarder';
import { certificateAccess, openAccess, tokenAccess } from './grpc/access';
import { adminHandlers } from './grpc/admin.handlers';
import { withAnswerEncoder } from './grpc/answer-wire';
import { withRequestDecoders } from './grpc/request-wire';
import { sqlHandlers } from './grpc/sql.handlers';
import { NodeHealth } from './health';
import { nodeLogger, type NodeLogger } from './logger';
import { NodeMetrics, serveMetrics } from './metrics';
import { DashboardModel } from './dashboard/model';
import { DASHBOARD_STATUS_TIMEOUT_MS, DashboardServer } from './dashboard/server';
import { closeHttp } from './http-listen';
import { QuorumliteClient } from '@quorumlite/client';
import { TRANSPORT_LIMITS } from '@quorumlite/transport';

export const NODE_CONFIG = Symbol('NODE_CONFIG');

/** Calls `fn` every `ms` without holding the process up; the result stops it. */
function everyUnref(ms: number, fn: () => void): () => void {
  const timer = setInterval(fn, ms);
  timer.unref();
  return () => clearInterval(timer);
}
export const NODE_LOGGER = Symbol('NODE_LOGGER');

@Injectable()
export class NodeServer implements OnApplicationBootstrap, OnApplicationShutdown {
  private server: grpc.Server | null = null;
  private replica: Replica | null = null;
  private forwarder: GrpcWriteForwarder | null = null;
  private loopMonitor: LoopMonitor | null = null;
  private metrics: NodeMetrics | null = null;
  private metricsServer: http.Server | null = null;
  private health: NodeHealth | null = null;
  private dashboard: DashboardServer | null = null;
  private dashboardClient: QuorumliteClient | null = null;

  constructor(
    @Inject(NODE_CONFIG) private readonly config: NodeConfig,
    @Inject(NODE_LOGGER) private readonly logger: NodeLogger,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const c = this.config;
    // Snapshots half-received before a restart are useless: the leader sends a fresh one.
    const incoming = path.join(c.dataDir, 'snapshots', 'incoming');
    await fs.promises.rm(incoming, { recursive: true, force: true });
    await fs.promises.mkdir(incoming, { recursive: true });
    const transport = new GrpcPeerTransport({
      self: nodeId(c.nodeId),
      cluster: c.cluster,
      protocol: c.protocol,
      peers: c.members.filter((m) => m.id !== c.nodeId).map((m) => ({ id: nodeId(m.id), address: m.address })),
      stagingDir: incoming,
      limits: { frameBytesMax: c.limits.grpcMessageBytesMax - FRAME_OVERHEAD_BYTES },
      log: (level, msg) => this.logger[level](msg),
      tls: c.tls,
    });
    this.forwarder = new GrpcWriteForwarder(c.limits.grpcMessageBytesMax, channelCredentials(c.tls));
    // A stall longer than one heartbeat interval is what starts to cost a leader its followers.
    const heartbeatMs = c.tickMs * c.heartbeatTicks;
    this.loopMonitor = new LoopMonitor(
      { blockedMsMax: heartbeatMs, checkEveryMs: Math.max(1, Math.floor(heartbeatMs / 2)) },
      {
        now: () => performance.now(),
        every: everyUnref,
        warn: (msg, fields) => this.logger.warn(msg, fields),
        onStep: (step, ms) => this.metrics?.step(step, ms),
      },
    );
    this.replica = await Replica.open(
      {
        nodeId: c.nodeId,
        members: c.members,
        dataDir: c.dataDir,
        tickMs: c.tickMs,
        electionTimeoutTicks: c.electionTimeoutTicks,
        heartbeatTicks: c.heartbeatTicks,
        protocolOptions: c.protocolOptions,
        snapshotEveryEntries: c.snapshotEveryEntries,
        snapshotRetainEntries: c.snapshotRetainEntries,
        snapshotLogBytesMax: c.snapshotLogBytesMax,
        logPreallocate: c.logPreallocate,
        entriesPerMessageMax: c.limits.entriesPerMessageMax,
        bytesPerMessageMax: c.limits.bytesPerMessageMax,
        inflightMessagesMax: c.limits.inflightMessagesMax,
        uncommittedEntriesMax: c.limits.uncommittedEntriesMax,
        proposalBatchMax: c.limits.proposalBatchMax,
        rejoin: c.rejoin,
        fromBackup: c.fromBackup,
        sql: {
          limits: {
            statementBytesMax: c.limits.statementBytesMax,
            statementsPerRequestMax: c.limits.statementsPerRequestMax,
            paramsPerStatementMax: c.limits.paramsPerStatementMax,
            requestBytesMax: c.limits.requestBytesMax,
            resultRowsMax: c.limits.resultRowsMax,
            resultBytesMax: c.limits.resultBytesMax,
          },
        },
      },
      {
        protocol: PROTOCOLS[c.protocol],
        transport,
        forwarder: this.forwarder,
        peerStatus: this.forwarder,
        clock: systemClock,
        entropy: processEntropy(),
        logger: this.logger,
        loopSteps: this.loopMonitor,
        onWriteAnswered: (ms) => this.metrics?.writeAnswered(ms),
        onFatal: () => {
          // Storage failed under the replica, or a peer refused this node's lost data directory:
          // a consensus node must not limp on.
          setTimeout(() => process.exit(1), 100);
        },
      },
    );

    const server = new grpc.Server({
      'grpc.max_receive_message_length': c.limits.grpcMessageBytesMax,
      'grpc.max_send_message_length': c.limits.grpcMessageBytesMax,
      'grpc.keepalive_permit_without_calls': 1,
    });
    const defs = packageDefinitions();
    const serviceOf = (def: typeof defs.sql, name: string): grpc.ServiceDefinition =>
      (grpc.loadPackageDefinition(def) as unknown as { quorumlite: { v1: Record<string, { service: grpc.ServiceDefinition }> } }).quorumlite.v1[name]!.service;
    const sqlService = withAnswerEncoder(withRequestDecoders(serviceOf(defs.sql, 'SqlService')));
    const replica = this.replica;
    this.logger.setFence(() => replica.fence());
    if (c.metricsListen !== null) this.metrics = new NodeMetrics(() => replica.status());
    const tokens = this.tokenStore();
    const access = tokens !== null ? tokenAccess(tokens, c.tls !== null) : c.tls ? certificateAccess : openAccess;
    server.addService(sqlService, sqlHandlers(this.replica, { timeoutMs: c.requestTimeoutMs, resultRowsMax: c.limits.resultRowsMax }, this.metrics ?? undefined, access));
    server.addService(serviceOf(defs.admin, 'AdminService'), adminHandlers(this.replica, { nodeId: c.nodeId, protocol: c.protocol, requestTimeoutMs: c.requestTimeoutMs }, access));
    this.health = new NodeHealth(() => replica.status());
    this.health.addToServer(server);
    transport.addTo(server);
    new ReflectionService({ ...defs.sql, ...defs.peer, ...defs.admin }).addToServer(server);
    await new Promise<void>((resolve, reject) =>
      server.bindAsync(c.listen, serverCredentials(c.tls, { clientCertificateOptional: tokens !== null }), (err) => (err ? reject(err) : resolve())),
    );
    this.server = server;
    this.replica.start();
    this.loopMonitor.start();
    // Every tick: a load balancer sees a lost leader as soon as the node itself does.
    this.health.start(c.tickMs);
    if (this.metrics && c.metricsListen !== null) this.metricsServer = await serveMetrics(this.metrics, c.metricsListen);
    if (c.dashboardListen !== null) await this.startDashboard(c.dashboardListen);
    if (c.faultInjection) this.armPowerCut(this.replica);
    this.logger.info('node started', { listen: c.listen, tls: c.tls !== null, metricsListen: c.metricsListen, dashboardListen: c.dashboardListen, dataDir: c.dataDir, members: c.members.map((m) => `${m.id}=${m.address}:${m.role}`).join(',') });
  }

  /** The bearer tokens this node accepts, when it has a token file (config key authTokens). */
  private tokenStore(): TokenStore | null {
    const file = this.config.authTokensFile;
    if (file === null) return null;
    const tokens = new TokenStore(file, {
      nowMs: Date.now,
      onError: (message) => this.logger.error(message),
      onReload: (count) => this.logger.info('bearer tokens read again', { file, tokens: count }),
    });
    if (this.config.tls === null) this.logger.warn('bearer tokens travel in plaintext without TLS: set tlsCert, tlsKey and tlsCa where others can see the network', { file });
    this.logger.info('bearer tokens read', { file, tokens: tokens.size });
    return tokens;
  }

  /** The live dashboard: it reads every member, this one included, by its gRPC Status. */
  private async startDashboard(listen: string): Promise<void> {
    const c = this.config;
    const members = c.members.map((m) => ({ id: m.id, address: m.id === c.nodeId ? c.advertise : m.address, role: m.role }));
    const client = new QuorumliteClient({
      addresses: members.map((m) => m.address),
      timeoutMs: DASHBOARD_STATUS_TIMEOUT_MS,
      retryBudgetMs: 0,
      // The peer links' backoff, not gRPC's default (1 s growing to 2 min): a member that comes back is shown up at its first answer.
      channelOptions: { 'grpc.initial_reconnect_backoff_ms': TRANSPORT_LIMITS.reconnectBackoffMsMin, 'grpc.max_reconnect_backoff_ms': TRANSPORT_LIMITS.reconnectBackoffMsMax },
    });
    this.dashboardClient = client;
    const model = new DashboardModel({ nodeId: c.nodeId, protocol: c.protocol, fencingName: PROTOCOLS[c.protocol].fencingName }, members);
    this.dashboard = new DashboardServer(model, members, {
      readStatus: (address) => client.status(address),
      now: () => Date.now(),
      every: everyUnref,
      warn: (msg, fields) => this.logger.warn(msg, fields),
    });
    await this.dashboard.start(listen);
  }

  /** Testing only (--fault-injection): SIGUSR2 is a power cut — unsynced log writes lost, then death. */
  private armPowerCut(replica: Replica): void {
    this.logger.warn('fault injection is on: SIGUSR2 simulates a power cut');
    process.on('SIGUSR2', () => {
      const lost = replica.simulatePowerLoss(Math.random);
      process.stderr.write(JSON.stringify({ t: new Date().toISOString(), level: 'warn', node: this.config.nodeId, msg: 'power cut', unsyncedBytesLost: lost }) + '\n');
      process.kill(process.pid, 'SIGKILL');
    });
  }

  async onApplicationShutdown(): Promise<void> {
    // A leader hands over first, while its server still answers: its clients hear
    // 'transferring' and retry at the new leader instead of waiting out an election.
    await this.replica?.handOverLeadership();
    this.health?.stop();
    const metricsServer = this.metricsServer;
    if (metricsServer) await closeHttp(metricsServer);
    await this.dashboard?.close();
    this.dashboardClient?.close();
    const server = this.server;
    if (server) {
      await new Promise<void>((resolve) => {
        const force = setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, 2_000);
        server.tryShutdown(() => {
          clearTimeout(force);
          resolve();
        });
      });
    }
    await this.replica?.stop();
    this.loopMonitor?.stop();
    this.forwarder?.close();
    this.logger.info('node stopped');
  }
}

@Module({})
export class NodeModule {
  static forConfig(config: NodeConfig): DynamicModule {
    return {
      module: NodeModule,
      providers: [
        { provide: NODE_CONFIG, useValue: config },
        { provide: NODE_LOGGER, useValue: nodeLogger({ nodeId: config.nodeId, protocol: config.protocol, fencingName: PROTOCOLS[config.protocol].fencingName, level: config.logLevel }) },
        NodeServer,
      ],
    };
  }
}
