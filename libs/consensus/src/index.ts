export * from './contract';
export * from './prng';
export { raft } from './raft';
export * from './registry';
export * from './driver';
export { witnessShortfall } from './common';
