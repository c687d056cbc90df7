export * from './errors';
export * from './ports';
export * from './replica';
export * from './loop-monitor';
