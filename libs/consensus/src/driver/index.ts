export { appliesBeforePersist, carryOutReady, type Completion, type ReadyPorts } from './carry-ready';
