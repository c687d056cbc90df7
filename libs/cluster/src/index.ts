export {
  LocalCluster,
  clientTlsOf,
  findNodeBin,
  NODE_RUNTIME_FLAGS,
  membersFlag,
  START_TIMEOUT_MS_DEFAULT,
  LEADER_TIMEOUT_MS_DEFAULT,
  STOP_GRACE_MS,
  type LocalClusterOptions,
  type LocalNodeSpec,
  type LocalNode,
  type LocalClusterTls,
  type TlsFiles,
} from './cluster';
export { freePorts } from './ports';
export { track, untrack, type Reapable } from './reaper';
export { readClusterManifest, writeClusterManifest, manifestPath, MANIFEST_FILE, type ClusterManifest, type LocalRole } from './manifest';
export { NodeSupervisor, restartDelayMs, RESTART_POLICY_DEFAULT, type RestartPolicy, type Restartable } from './supervisor';
export { composeFileOf, DEFAULT_TOPOLOGY, parseTopology, renderCompose, TOPOLOGIES, topologyNodes, topologySize, votersOnly, type Topology } from './topology';
/** The nodes' defaults, for what starts and tests them (chaos bounds a witness's log by them). */
export { CONFIG_DEFAULTS } from '@quorumlite/config';
