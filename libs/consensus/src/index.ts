export * from './contract';
export * from './prng';
export { raft } from './raft';
export * from './registry';
export * from './driver';
export { CONFIG_CODEC_VERSION, decodeConfig, encodeConfig, membershipUnsupported, witnessShortfall } from './common';
