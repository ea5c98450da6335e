// A sink type against its harness server, for the tests and benchmarks that run every sink type
// alike: the nine-sink e2e (test/e2e/all-sinks.test.ts), the sink benchmark (bench/sinks.ts) and
// each type's own integration test. One module per type (test/support/sinks/<type>.ts) exports a
// SinkFixture; test/support/sinks/index.ts lists them.
import type { InventoryIdentity, SinkContext } from '../../../activities/sinks/types.js';
import { EndpointGuard } from '../../../activities/sinks/endpoints.js';
import type { ServiceName } from '../../harness/endpoints.js';

/** The guard every sink test uses: the harness servers listen on loopback, which is allowed explicitly. */
export const testGuard = new EndpointGuard({ allow: ['loopback'], clusterCidrs: [] });

/** What a sink holds for one row of an inventory, as read back from the server. */
export interface HeldRow {
  /** The row's attributes as the sink stores them (parsed back from its format). */
  attributes: Record<string, unknown>;
  /** The row's content hash, when the sink stores it. */
  hash?: string;
}

export interface SinkFixture<Spec = Record<string, unknown>> {
  type: string;
  /** The harness service the sink talks to (stopped and restarted by fault tests). */
  service: ServiceName;
  /** A unique place (bucket, table, topic, repo…) for one test or one run, in the sink's spec block. */
  spec(unique: string): Spec | Promise<Spec>;
  /** The Secret's data the sink needs (its keys as the sink's docs name them). */
  secret(): Record<string, string>;
  /** A backend context for `spec`, guard allowing loopback. */
  context(spec: Spec, log?: SinkContext<Spec>['log']): SinkContext<Spec>;
  /**
   * What the sink holds for the inventory, keyed by `target/uid`: for a state sink its content,
   * for an event sink the stream folded by key (last event wins, a delete removes the key).
   */
  read(spec: Spec, inventory: InventoryIdentity): Promise<Map<string, HeldRow>>;
  /** Removes what `spec(unique)` created, best effort. */
  cleanup?(spec: Spec): Promise<void>;
}
