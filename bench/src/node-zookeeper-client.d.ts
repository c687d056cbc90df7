// node-zookeeper-client ships no types; reference-targets.ts declares the little it uses.
declare module 'node-zookeeper-client';
declare module 'node-zookeeper-client/lib/jute/index.js';
