export { isProposal } from './proposal';
export { appliesBeforePersist, carryOutReady, type Completion, type ReadyPorts } from './carry-ready';
