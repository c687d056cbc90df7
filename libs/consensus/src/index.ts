export * from './contract';
export * from './prng';
