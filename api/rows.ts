// The row model: one collected object as every sink sees it.

/** One object of a target, after extraction. Identity: (cluster, namespace, name, uid). */
export interface Row {
  /** The KollectTarget that collected it. */
  target: string;
  cluster: string;
  apiVersion: string;
  kind: string;
  /** '' for cluster-scoped objects. */
  namespace: string;
  name: string;
  uid: string;
  /** Extracted attributes, or the pruned object when the profile's export.mode is Resource. */
  attributes: Record<string, unknown>;
  /** Stable content hash (sha256 hex of the canonical JSON of identity + attributes). */
  hash: string;
}

/** A row as the inventory workflow holds it: with the snapshot version of its last change. */
export interface VersionedRow extends Row { version: number }

/** A deleted row, kept until every event sink has emitted it. */
export interface Tombstone { target: string; uid: string; cluster: string; apiVersion: string; kind: string; namespace: string; name: string; version: number }

/** Key of a row inside one inventory: targets may overlap, so the target is part of it. */
export const rowKey = (r: { target: string; uid: string }): string => `${r.target}/${r.uid}`;
