// The row model: one collected object as every sink sees it, and the references to it that travel
// through Temporal. Row bodies live in the body store (store/bodies.ts) under their hash; signals,
// workflow state and activity payloads carry only keys, hashes and versions.

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
  /** Stable content hash (sha256 hex of the canonical JSON of every other field): the body's store key. */
  hash: string;
}

/** A row with the snapshot version of its last change, as an export hands it to a sink. */
export interface VersionedRow extends Row { version: number }

/** A row by reference, as the watcher signals it: the body is already in the store under `hash`. */
export interface RowRef { uid: string; hash: string }

/**
 * What the inventory workflow keeps per row, and what an export names: the row's key, the hash
 * of its body and the version of its last change. For a deleted row, `hash` is its last body's
 * (its identity for delete events) and `version` the version of the delete.
 */
export interface RowEntry { target: string; uid: string; hash: string; version: number }

/** A deleted row with its identity, as sinks receive it. */
export interface Tombstone { target: string; uid: string; cluster: string; apiVersion: string; kind: string; namespace: string; name: string; version: number }

/** Key of a row inside one inventory: targets may overlap, so the target is part of it. */
export const rowKey = (r: { target: string; uid: string }): string => `${r.target}/${r.uid}`;
