export * from './history';
export * from './limits';
export { ILLEGAL, wglCheck } from './wgl';
export type { Illegal, SequentialModel, WglOp, WglLimits, WglResult, DeadEnd } from './wgl';
export * from './register';
export * from './bank';
export * from './append';
export * from './dumps';
export * from './flows';
