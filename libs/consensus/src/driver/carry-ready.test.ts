import { describe, expect, it } from 'vitest';
import { logIndex, nodeId, term, type BaseMessage, type Entry, type Ready } from '../contract';
import { carryOutReady, type Completion, type ReadyPorts } from './carry-ready';

const entry = (i: number): Entry => ({ index: logIndex(i), term: term(1), kind: 'command', data: new Uint8Array([i]) });
const msg = (type: string): BaseMessage => ({ type, from: nodeId('a'), to: nodeId('b') });

function ready(over: Partial<Ready>): Ready {
  return {
    hardState: null, truncateAfter: null, entries: [], mustSync: false, snapshot: null, earlyMessages: [], messages: [],
    committed: [], readStates: [], readFailures: [], softState: null, ...over,
  };
}

/** Ports that write down what happened, in order; `later` makes the install and the persist complete asynchronously. */
function recorder(later: boolean): { ports: ReadyPorts<BaseMessage>; steps: string[] } {
  const steps: string[] = [];
  const done = (): Completion => (later ? Promise.resolve() : undefined);
  return {
    steps,
    ports: {
      installSnapshot: (meta) => {
        steps.push(`install ${meta.index}`);
        return done();
      },
      persist: (truncateAfter, hardState, entries, mustSync) => {
        const cut = truncateAfter === null ? '' : `after ${truncateAfter} `;
        steps.push(`persist ${cut}${entries.map((e) => e.index).join(',')}${hardState ? ' hs' : ''}${mustSync ? ' sync' : ''}`);
        return done();
      },
      send: (m) => steps.push(`send ${m.type}`),
      apply: (entries) => steps.push(`apply ${entries.map((e) => e.index).join(',')}`),
      reads: (rs, rf) => steps.push(`reads ${rs.length}/${rf.length}`),
      softState: (s) => steps.push(`soft ${s.role}`),
    },
  };
}

describe.each([false, true])('carryOutReady (ports complete %s ? later : at once)', (later) => {
  it('installs, sends early, answers reads, persists, sends, applies new records, then soft state', async () => {
    const { ports, steps } = recorder(later);
    const applied = await carryOutReady(
      ready({
        snapshot: { index: logIndex(3), term: term(1), members: [] },
        hardState: { term: 1 }, entries: [entry(4), entry(5)], mustSync: true,
        earlyMessages: [msg('early')], messages: [msg('late')], committed: [entry(4)],
        readStates: [{ requestId: 'r', index: logIndex(4) }], softState: { role: 'follower', leader: null, term: term(1) },
      }),
      ports,
    );
    expect(applied).toBe(true);
    // Reads before the persist: they need nothing it writes (each still waits for its index to be applied).
    expect(steps).toEqual(['install 3', 'send early', 'reads 1/0', 'persist 4,5 hs sync', 'send late', 'apply 4', 'soft follower']);
  });

  it('applies records an earlier Ready made durable before this Ready persists', async () => {
    const { ports, steps } = recorder(later);
    await carryOutReady(ready({ entries: [entry(6)], earlyMessages: [msg('early')], messages: [msg('late')], committed: [entry(4), entry(5)] }), ports);
    expect(steps).toEqual(['apply 4,5', 'send early', 'persist 6', 'send late']);
  });

  it('answers reads after applying what an earlier Ready made durable, with nothing to persist too', async () => {
    const { ports, steps } = recorder(later);
    const readStates = [{ requestId: 'r', index: logIndex(5) }];
    await carryOutReady(ready({ entries: [entry(6)], earlyMessages: [msg('early')], messages: [msg('late')], committed: [entry(4), entry(5)], readStates }), ports);
    expect(steps).toEqual(['apply 4,5', 'send early', 'reads 1/0', 'persist 6', 'send late']);
    steps.length = 0;
    await carryOutReady(ready({ messages: [msg('late')], readStates, readFailures: [{ requestId: 'f', reason: 'not_leader', leader: null }] }), ports);
    expect(steps).toEqual(['reads 1/1', 'send late']);
  });

  it('persists a truncation that comes without records (ZAB TRUNC) before the messages that depend on it', async () => {
    const { ports, steps } = recorder(later);
    await carryOutReady(ready({ truncateAfter: logIndex(7), mustSync: true, messages: [msg('ack')] }), ports);
    expect(steps).toEqual(['persist after 7  sync', 'send ack']);
  });

  it('persists nothing and reports no apply when the Ready holds neither', async () => {
    const { ports, steps } = recorder(later);
    const applied = await carryOutReady(ready({ mustSync: true, messages: [msg('late')] }), ports);
    expect(applied).toBe(false);
    expect(steps).toEqual(['send late']);
  });
});

it('stays synchronous when every port completes at once (the simulator relies on it)', () => {
  const { ports } = recorder(false);
  expect(carryOutReady(ready({ entries: [entry(1)], committed: [] }), ports)).toBe(false);
});
