/**
 * Messages a leader may send while its own persist is in flight (ConsensusCore.takeEarlyMessages),
 * taken out of an outbox in order per recipient: a recipient that has a message which must
 * wait for the persist — in the outbox, or among the in-flight Ready's late messages — gets
 * nothing early, so no message to it overtakes one sent before it.
 */
import type { BaseMessage, NodeId } from '../contract';

export interface EarlySplit<M> {
  /** Send now, in this order. */
  readonly early: M[];
  /** Left in the outbox, in their order, for the next Ready. */
  readonly rest: M[];
}

export function splitEarly<M extends BaseMessage>(outbox: readonly M[], isEarly: (m: M) => boolean, waiting: ReadonlySet<NodeId>): EarlySplit<M> {
  const blocked = new Set<NodeId>(waiting);
  for (const m of outbox) if (!isEarly(m)) blocked.add(m.to);
  const early: M[] = [];
  const rest: M[] = [];
  for (const m of outbox) (blocked.has(m.to) ? rest : early).push(m);
  return { early, rest };
}

/** The recipients of messages that wait for a persist. */
export function recipientsOf(messages: readonly BaseMessage[]): Set<NodeId> {
  return new Set(messages.map((m) => m.to));
}
