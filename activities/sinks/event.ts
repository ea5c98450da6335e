// The event every event sink (nats, kafka) publishes for one changed row: one JSON shape, so a
// consumer reads both alike. Each sink adds its own envelope (subject and headers, key and headers).
import type { Tombstone, VersionedRow } from '../../api/rows.js';
import type { ExportInput } from './types.js';

export const EVENT_TYPES = ['upsert', 'delete'] as const;
export type EventType = (typeof EVENT_TYPES)[number];

/** The JSON body of every event. `hash` and `attributes` only on upserts. */
export interface KollectEvent {
  type: EventType;
  cluster: string;
  inventory: { namespace: string; name: string };
  target: string;
  apiVersion: string;
  kind: string;
  namespace: string;
  name: string;
  uid: string;
  version: number;
  /** The snapshot lineage `version` belongs to (versions restart in a new lineage). */
  lineage: string;
  hash?: string;
  attributes?: Record<string, unknown>;
  /** Set when the attributes were left out because the event would exceed the server's largest message. */
  attributesOmitted?: 'max_payload';
  exportId: string;
}

export function toEvent(type: EventType, row: VersionedRow | Tombstone, input: Pick<ExportInput, 'inventory' | 'exportId' | 'plan'>): KollectEvent {
  const e: KollectEvent = {
    type, cluster: input.inventory.cluster, inventory: { namespace: input.inventory.namespace, name: input.inventory.name },
    target: row.target, apiVersion: row.apiVersion, kind: row.kind, namespace: row.namespace, name: row.name, uid: row.uid,
    version: row.version, lineage: input.plan.lineage, exportId: input.exportId,
  };
  if (type === 'upsert') {
    const r = row as VersionedRow;
    e.hash = r.hash;
    e.attributes = r.attributes;
  }
  return e;
}

const encoder = new TextEncoder();

/**
 * The event as JSON bytes, at most `limit` bytes when it can be: an event over it goes without
 * its attributes and says so (never truncated silently; the hash finds the row in a state sink).
 */
export function encodeEvent(event: KollectEvent, limit: number): Uint8Array {
  const data = encoder.encode(JSON.stringify(event));
  if (data.length <= limit || !event.attributes) return data;
  const { attributes: _dropped, ...rest } = event;
  return encoder.encode(JSON.stringify({ ...rest, attributesOmitted: 'max_payload' } satisfies KollectEvent));
}

/** The render() of event sinks: one upsert as its JSON body, with placeholders for what an export supplies. */
export function renderEvent(row: VersionedRow): string {
  const input = { inventory: { namespace: '<namespace>', name: '<inventory>', cluster: row.cluster }, exportId: '<export id>', plan: { lineage: '<lineage>' } };
  return JSON.stringify(toEvent('upsert', row, input as Pick<ExportInput, 'inventory' | 'exportId' | 'plan'>), null, 2);
}
