// The Kollect API (group kollect.dev, version v1alpha1): the TypeScript side of the CRDs.
// This file is the contract every side codes against. The CRD schemas under deploy/crds are
// generated from these types (scripts/gen-crds.ts), and a test checks that they agree.
//
// The JSDoc here is what users read (`kubectl explain`, docs/crds.md) and what the apiserver
// enforces: a comment's text becomes the field's description, and its tags become schema
// keywords — @default, @pattern, @minimum, @maxLength, @maxItems, @format, @eachItem (keywords
// for every item of a list), @x-kubernetes-validations (CEL rules, JSON5) and
// @x-kubernetes-list-type / @x-kubernetes-list-map-keys. Every `number` is an integer in the CRD.
// A sink spec's backend block is the field named after its `type` (spec.git for type git): the
// generator makes that block required for its type and rejects it under any other type.
// URL rules use reason FieldValueForbidden: the apiserver then leaves the value out of its error,
// so a URL with a password is not echoed back into clients' logs and events.

import type { SnapshotSinkBlocks, DatabaseSinkBlocks, EventSinkBlocks } from './sinks/index.js';
export type * from './sinks/index.js';

export interface ObjectMeta {
  name: string;
  namespace?: string;
  uid?: string;
  generation?: number;
  resourceVersion?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  finalizers?: string[];
  deletionTimestamp?: string;
}

/** Kubernetes-style condition (metav1.Condition). */
export interface Condition {
  /**
   * Type of the condition in CamelCase, e.g. Ready or Synced.
   * @minLength 1
   * @maxLength 316
   * @pattern ^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*[/])?(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$
   */
  type: string;
  /** Status of the condition: True, False or Unknown. */
  status: 'True' | 'False' | 'Unknown';
  /**
   * Machine-readable CamelCase reason for the last transition, e.g. ExportFailed.
   * @minLength 1
   * @maxLength 1024
   * @pattern ^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$
   */
  reason: string;
  /**
   * Human-readable detail of the last transition; never contains credentials.
   * @maxLength 32768
   */
  message: string;
  /**
   * When the condition last changed from one status to another (RFC 3339).
   * @format date-time
   */
  lastTransitionTime: string;
  /**
   * metadata.generation of the object the condition was computed from.
   * @minimum 0
   */
  observedGeneration?: number;
}

/** Reference to an object in the same namespace. */
export interface LocalObjectReference {
  /**
   * Name of the referenced object, in the same namespace.
   * @minLength 1
   * @maxLength 253
   * @pattern ^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$
   */
  name: string;
}
/** Reference to one key of a Secret in the same namespace. */
export interface SecretKeyReference {
  /**
   * Name of the Secret, in the same namespace.
   * @minLength 1
   * @maxLength 253
   * @pattern ^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$
   */
  name: string;
  /**
   * Key in the Secret's data.
   * @default ca.crt
   * @minLength 1
   * @maxLength 253
   * @pattern ^[-._a-zA-Z0-9]+$
   */
  key?: string;
}

// ---------- KollectProfile ----------

export const EXPORT_MODES = ['Attributes', 'Resource'] as const;
export type ExportMode = (typeof EXPORT_MODES)[number];

/**
 * One named value extracted from every watched object: a CEL expression or a JSONPath.
 * @x-kubernetes-validations [{rule: "has(self.cel) != has(self.jsonPath)", message: "exactly one of cel or jsonPath must be set"}]
 */
export interface ProfileAttribute {
  /**
   * Column / field name in every sink. Unique within the profile; letters, digits and `_`.
   * @minLength 1
   * @maxLength 63
   * @pattern ^[A-Za-z_][A-Za-z0-9_]*$
   */
  name: string;
  /**
   * CEL expression; the watched object is bound as `object`. Exactly one of cel, jsonPath.
   * Example: `object.spec.template.spec.containers.map(c, c.image)`. Guard optional fields with
   * has(): `has(object.status) ? object.status.readyReplicas : 0`. An expression that fails on
   * an object leaves the attribute out of that row (absent, not null) and is counted in the
   * target's status.rowIssues.
   * @minLength 1
   * @maxLength 4096
   */
  cel?: string;
  /**
   * JSONPath, kubectl spelling accepted (`{.spec.replicas}`). Exactly one of cel, jsonPath.
   * @minLength 1
   * @maxLength 1024
   */
  jsonPath?: string;
}

/** What to remove from each object before it is exported (export.mode Resource). */
export interface ProfilePrune {
  /**
   * Drop the fields that are noise in every object: metadata.managedFields,
   * metadata.resourceVersion, metadata.generation and the
   * kubectl.kubernetes.io/last-applied-configuration annotation.
   * @default true
   */
  defaults?: boolean;
  /**
   * RFC 6901 pointers to remove, e.g. `/metadata/annotations/example.com~1token` (`~1` is `/`).
   * @maxItems 64
   * @eachItem {minLength: 1, maxLength: 1024, pattern: "^(/([^~/]|~[01])*)+$"}
   * @x-kubernetes-list-type set
   */
  jsonPointers?: string[];
  /**
   * Keys removed wherever they appear in the object, at any depth (e.g. `password`).
   * @maxItems 64
   * @eachItem {minLength: 1, maxLength: 253}
   * @x-kubernetes-list-type set
   */
  scrubKeys?: string[];
}

/** What a row holds: the named attributes, or the whole object minus pruning. */
export interface ProfileExport {
  /**
   * Attributes (default): the named attributes. Resource: the whole object minus pruning.
   * @default Attributes
   */
  mode?: ExportMode;
  /** What to remove from the object when mode is Resource. */
  prune?: ProfilePrune;
}

/**
 * What to watch and what to extract from each object.
 * @x-kubernetes-validations [{rule: "(has(self.export) && has(self.export.mode) && self.export.mode == 'Resource') || (has(self.attributes) && size(self.attributes) > 0)", message: "spec.attributes must list at least one attribute unless spec.export.mode is Resource", fieldPath: ".attributes", reason: "FieldValueRequired"}]
 */
export interface KollectProfileSpec {
  /**
   * The watched type, e.g. `apps/v1` or `v1`.
   * @minLength 1
   * @maxLength 316
   * @pattern ^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*[/])?v[0-9]+((alpha|beta)[0-9]+)?$
   */
  apiVersion: string;
  /**
   * Kind of the watched type, e.g. `Deployment`; any built-in kind or CRD.
   * @minLength 1
   * @maxLength 63
   * @pattern ^[A-Z][A-Za-z0-9]*$
   */
  kind: string;
  /**
   * Named values extracted from each object; each becomes a column / field in every sink.
   * Required unless export.mode is Resource. Names are unique.
   * @maxItems 128
   * @x-kubernetes-list-type map
   * @x-kubernetes-list-map-keys ["name"]
   */
  attributes?: ProfileAttribute[];
  /**
   * CEL boolean expression; objects for which it is false are not collected.
   * @minLength 1
   * @maxLength 4096
   */
  filter?: string;
  /**
   * Keys removed from extracted attributes wherever they appear (secrets, tokens).
   * @maxItems 64
   * @eachItem {minLength: 1, maxLength: 253}
   * @x-kubernetes-list-type set
   */
  scrubKeys?: string[];
  /**
   * What a row holds: mode Attributes (default) or Resource (the whole object, pruned).
   * @default {}
   */
  export?: ProfileExport;
  /**
   * Custom resource metrics (kube-state-metrics style) served on the operator's /metrics: per
   * target, each metric sums its value over the objects collected, one series per distinct tuple
   * of its labels. Every series has the label `target` (namespace/name of the KollectTarget); an
   * object's own name becomes a label only if an attribute holding it is listed in labels. At
   * most 1,000 series per target (docs/metrics.md#custom-resource-metrics).
   * @maxItems 16
   * @x-kubernetes-list-type map
   * @x-kubernetes-list-map-keys ["name"]
   */
  metrics?: ProfileMetric[];
}

/** Where a custom metric's value comes from: at most one of cel, jsonPath, attribute; none counts each object as 1. */
export interface ProfileMetricValue {
  /**
   * CEL over the object (bound as `object`), as attributes use; a number or boolean (true = 1).
   * @minLength 1
   * @maxLength 4096
   */
  cel?: string;
  /**
   * JSONPath over the object, kubectl spelling accepted; a number or boolean (true = 1).
   * @minLength 1
   * @maxLength 1024
   */
  jsonPath?: string;
  /**
   * Name of an attribute of this profile whose value is the number.
   * @minLength 1
   * @maxLength 63
   */
  attribute?: string;
}

/** A label of a custom metric, its value taken from an attribute of the row. */
export interface ProfileMetricLabel {
  /**
   * Prometheus label name; not `target` (always set) and not starting with `__`.
   * @minLength 1
   * @maxLength 63
   * @pattern ^[a-zA-Z_][a-zA-Z0-9_]*$
   */
  name: string;
  /**
   * Name of an attribute of this profile (spec.attributes[].name); its value, as text, is the label value.
   * @minLength 1
   * @maxLength 63
   */
  attribute: string;
}

/**
 * One custom resource metric: a gauge summed over a target's objects, per label tuple.
 * @x-kubernetes-validations [{rule: "!has(self.value) || ((has(self.value.cel) ? 1 : 0) + (has(self.value.jsonPath) ? 1 : 0) + (has(self.value.attribute) ? 1 : 0)) <= 1", message: "value takes at most one of cel, jsonPath, attribute", fieldPath: ".value"}]
 */
export interface ProfileMetric {
  /**
   * Metric name: `kollect_custom_` and then letters, digits and `_`; not ending in _total,
   * _count, _sum or _bucket (those suffixes mean counters and histograms).
   * @minLength 16
   * @maxLength 128
   * @pattern ^kollect_custom_[a-zA-Z0-9_]+$
   */
  name: string;
  /**
   * HELP text of the metric (one line).
   * @maxLength 256
   */
  help?: string;
  /**
   * Prometheus type; only gauge (a sum over objects can go down).
   * @default gauge
   */
  type?: 'gauge';
  /** The number each object contributes; omitted, each object counts 1 (an object count). */
  value?: ProfileMetricValue;
  /**
   * Labels from attributes: one series per distinct tuple of their values.
   * @maxItems 8
   * @x-kubernetes-list-type map
   * @x-kubernetes-list-map-keys ["name"]
   */
  labels?: ProfileMetricLabel[];
}

/** Observed state of a KollectProfile, written by the operator. */
export interface KollectProfileStatus {
  /**
   * Latest observations. Ready: the profile's expressions compile and its kind is served.
   * @maxItems 16
   * @x-kubernetes-list-type map
   * @x-kubernetes-list-map-keys ["type"]
   */
  conditions?: Condition[];
  /**
   * metadata.generation the status describes.
   * @minimum 0
   */
  observedGeneration?: number;
}
/**
 * KollectProfile says which resource type to watch (any group/version/kind, built-in or CRD)
 * and what to extract from each object: named attributes (CEL or JSONPath), or the whole
 * object minus noise with export.mode Resource. KollectTargets select objects with it.
 */
export interface KollectProfile { apiVersion: 'kollect.dev/v1alpha1'; kind: 'KollectProfile'; metadata: ObjectMeta; spec: KollectProfileSpec; status?: KollectProfileStatus }

// ---------- KollectTarget ----------

/**
 * A label selector requirement: a key, an operator and values.
 * @x-kubernetes-validations [{rule: "self.operator in ['In', 'NotIn'] ? (has(self.values) && size(self.values) > 0) : (!has(self.values) || size(self.values) == 0)", message: "values must be non-empty for In and NotIn, and empty for Exists and DoesNotExist", fieldPath: ".values"}]
 */
export interface LabelSelectorRequirement {
  /**
   * The label key the selector applies to.
   * @minLength 1
   * @maxLength 317
   */
  key: string;
  /** How the key relates to the values: In, NotIn, Exists or DoesNotExist. */
  operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';
  /**
   * Label values; non-empty for In and NotIn, empty for Exists and DoesNotExist.
   * @maxItems 64
   * @eachItem {maxLength: 63}
   */
  values?: string[];
}
/** A Kubernetes label selector; the requirements are ANDed. Empty selects everything. */
export interface LabelSelector {
  /**
   * Labels an object must carry with exactly these values.
   * @maxProperties 64
   */
  matchLabels?: Record<string, string>;
  /**
   * Label selector requirements, all of which must hold.
   * @maxItems 32
   */
  matchExpressions?: LabelSelectorRequirement[];
}

/** Which objects of the profile's type to collect. */
export interface KollectTargetSpec {
  /** A KollectProfile in the Target's namespace. */
  profileRef: LocalObjectReference;
  /**
   * Namespaces to collect from; empty means all namespaces.
   * @maxItems 256
   * @eachItem {minLength: 1, maxLength: 63, pattern: "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"}
   * @x-kubernetes-list-type set
   */
  namespaces?: string[];
  /** Collect only objects whose labels match. */
  labelSelector?: LabelSelector;
  /**
   * Field selector in the apiserver's syntax, e.g. `metadata.name!=kube-root-ca.crt`.
   * @minLength 1
   * @maxLength 1024
   */
  fieldSelector?: string;
  /** While true, the target collects nothing: its watch is stopped. */
  suspend?: boolean;
}
/**
 * Objects of a target whose rows are not exported as the objects are
 * (docs/extraction.md#row-limits-and-quarantine): counts of the objects affected now, and a few
 * examples.
 */
export interface TargetRowIssues {
  /**
   * Objects whose row is quarantined: over the operator's row size cap
   * (KOLLECT_EXTRACT_MAX_ROW_BYTES) or nested deeper than its depth cap
   * (KOLLECT_EXTRACT_MAX_DEPTH). Their rows are not exported, and sinks that held an earlier
   * version of them delete it; every other object keeps flowing.
   * @minimum 0
   */
  quarantined: number;
  /**
   * Objects with an evaluation error: an attribute whose expression failed is left out of the row
   * (not null), a filter that failed excludes the object.
   * @minimum 0
   */
  extractionErrors: number;
  /**
   * Up to three examples: the object, the expression or limit, the message (values of the object
   * redacted).
   * @maxItems 3
   */
  samples?: string[];
}

/** Observed state of a KollectTarget, written by the operator. */
export interface KollectTargetStatus {
  /**
   * Latest observations. Ready: the profile resolves and the watch on its type is running.
   * Degraded: True (reason Forbidden, Ready False) while the operator may not list or watch the
   * kind in a namespace the target reads; the message names the verb, the resource and the
   * namespace, and the grant that fixes it; checked again periodically, then False (AccessGranted).
   * @maxItems 16
   * @x-kubernetes-list-type map
   * @x-kubernetes-list-map-keys ["type"]
   */
  conditions?: Condition[];
  /**
   * metadata.generation the status describes.
   * @minimum 0
   */
  observedGeneration?: number;
  /**
   * Objects the target currently selects.
   * @minimum 0
   */
  objects?: number;
  /** Objects whose rows are quarantined or have evaluation errors; absent when there are none. */
  rowIssues?: TargetRowIssues;
}
/**
 * KollectTarget selects which objects of a KollectProfile's type to collect: namespaces,
 * label selector, field selector. KollectInventories roll targets up and export them.
 */
export interface KollectTarget { apiVersion: 'kollect.dev/v1alpha1'; kind: 'KollectTarget'; metadata: ObjectMeta; spec: KollectTargetSpec; status?: KollectTargetStatus }

// ---------- KollectInventory ----------

/** A sink in the inventory's namespace, with an optional per-sink interval. */
export interface SinkRef {
  /**
   * Name of the sink, in the inventory's namespace.
   * @minLength 1
   * @maxLength 253
   * @pattern ^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$
   */
  name: string;
  /**
   * Minimum time between two exports to this sink (Go duration, e.g. `30s`, `5m`). Defaults to the inventory's.
   * @maxLength 32
   * @pattern ^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$
   */
  exportMinInterval?: string;
}

/** Which targets roll up together, and which sinks receive the result. */
export interface KollectInventorySpec {
  /**
   * KollectTargets in the inventory's namespace whose objects roll up here.
   * @minItems 1
   * @maxItems 64
   * @x-kubernetes-list-type map
   * @x-kubernetes-list-map-keys ["name"]
   */
  targetRefs: LocalObjectReference[];
  /**
   * KollectSnapshotSinks (git, gitlab, s3, gcs) in the inventory's namespace that receive every export.
   * @maxItems 16
   * @x-kubernetes-list-type map
   * @x-kubernetes-list-map-keys ["name"]
   */
  snapshotSinkRefs?: SinkRef[];
  /**
   * KollectDatabaseSinks (postgres, mongodb, bigquery) in the inventory's namespace that receive every export.
   * @maxItems 16
   * @x-kubernetes-list-type map
   * @x-kubernetes-list-map-keys ["name"]
   */
  databaseSinkRefs?: SinkRef[];
  /**
   * KollectEventSinks (kafka, nats) in the inventory's namespace that receive every change.
   * @maxItems 16
   * @x-kubernetes-list-type map
   * @x-kubernetes-list-map-keys ["name"]
   */
  eventSinkRefs?: SinkRef[];
  /**
   * Minimum time between two exports (Go duration), default `30s`.
   * @default 30s
   * @maxLength 32
   * @pattern ^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$
   */
  exportMinInterval?: string;
  /**
   * Cluster name written into every row; fleets share sinks partitioned by it. Unset means the
   * operator's cluster name (KOLLECT_CLUSTER_NAME, `default` when unset).
   * @minLength 1
   * @maxLength 63
   * @pattern ^[a-z0-9]([-a-z0-9]*[a-z0-9])?$
   */
  cluster?: string;
  /** While true, the inventory exports nothing to its sinks. */
  suspend?: boolean;
  /**
   * Upper bound of one export's size in bytes (the rows it writes); a larger export fails
   * (ExportTooLarge) naming its largest targets and objects. The operator's
   * KOLLECT_MAX_EXPORT_BYTES, when set, caps it: this may only lower the operator's limit. One
   * oversized object cannot cause this alone: its row is quarantined at extraction
   * (KOLLECT_EXTRACT_MAX_ROW_BYTES).
   * @minimum 1
   */
  maxExportBytes?: number;
  /**
   * How often every state sink (snapshot, database) gets a full reconcile instead of the changes
   * since its watermark (Go duration), default `24h`. A full reconcile also runs when a sink is
   * new, when its spec changes, and when its stored watermark disagrees with the inventory's.
   * @default 24h
   * @maxLength 32
   * @pattern ^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$
   */
  fullReconcileInterval?: string;
}

export const SINK_KINDS = ['KollectSnapshotSink', 'KollectDatabaseSink', 'KollectEventSink'] as const;
export type SinkKind = (typeof SINK_KINDS)[number];
/** The inventory field that references sinks of each kind. */
export const SINK_REF_FIELDS = { KollectSnapshotSink: 'snapshotSinkRefs', KollectDatabaseSink: 'databaseSinkRefs', KollectEventSink: 'eventSinkRefs' } as const satisfies Record<SinkKind, string>;

/** TargetRowIssues of one target of an inventory. */
export interface InventoryTargetRowIssues {
  /** Name of the KollectTarget. */
  target: string;
  /**
   * Objects whose row is quarantined (over the row size or depth cap): not exported.
   * @minimum 0
   */
  quarantined: number;
  /**
   * Objects with an evaluation error (attribute left out, or filter failed).
   * @minimum 0
   */
  extractionErrors: number;
  /**
   * Up to three examples, as in the target's status.rowIssues.
   * @maxItems 3
   */
  samples?: string[];
}

/**
 * Rows a sink refused (docs/sinks.md#poison-rows): the sink skipped them and applied the rest of
 * the export, and deleted any earlier version of them it held.
 */
export interface SinkQuarantine {
  /**
   * Rows refused since the sink's last full reconcile (a full reconcile counts afresh; one that
   * refuses none clears this).
   * @minimum 0
   */
  rows: number;
  /** One of them: its key (target/uid), object and why, e.g. a NUL character Postgres cannot store. */
  sample?: string;
  /**
   * When the sink last refused a row (RFC 3339).
   * @format date-time
   */
  lastTime?: string;
}

/** Export state of one sink of the inventory. */
export interface SinkExportStatus {
  /** Kind of the sink: KollectSnapshotSink, KollectDatabaseSink or KollectEventSink. */
  kind: SinkKind;
  /** Name of the sink, in the inventory's namespace; `<namespace>/<name>` for a KollectClusterInventory. */
  name: string;
  /** Sink backend type, e.g. postgres. */
  type?: string;
  /**
   * When the last export to this sink started (RFC 3339).
   * @format date-time
   */
  lastAttemptTime?: string;
  /**
   * When the last successful export to this sink finished (RFC 3339).
   * @format date-time
   */
  lastSuccessTime?: string;
  /** Error of the last failed attempt, with credentials redacted; empty after a success. */
  lastError?: string;
  /**
   * Rows the sink received in its last successful export.
   * @minimum 0
   */
  rowsExported?: number;
  /**
   * Failed exports in a row since the last success.
   * @minimum 0
   */
  consecutiveFailures?: number;
  /** closed (healthy), open (skipping exports until the cool-down ends), halfOpen (probing). */
  circuit?: 'closed' | 'open' | 'halfOpen';
  /**
   * Snapshot version the sink holds.
   * @minimum 0
   */
  exportedVersion?: number;
  /** Backend detail of the last success, e.g. a commit SHA. */
  detail?: string;
  /**
   * Why the sink is not current, when it is not: ExportFailed, Unreachable (the last attempt
   * could not connect to the sink), DeleteHeld (an export would have deleted more than
   * spec.maxDeletePercent of the sink's rows), SecretNotAllowed (a Secret the sink names lacks
   * the label kollect.dev/sink-credentials=true) or AwaitingResync (a new snapshot lineage waits
   * for every target's first full resync before it may delete anything).
   */
  reason?: string;
  /**
   * When the sink last completed a full reconcile (RFC 3339).
   * @format date-time
   */
  lastFullReconcileTime?: string;
  /** Rows the sink refused (poison rows) and skipped; absent when there are none. */
  quarantine?: SinkQuarantine;
}

/** Observed state of a KollectInventory, written by the operator. */
export interface KollectInventoryStatus {
  /**
   * Latest observations. Ready: the targets and sinks resolve and the inventory's workflow
   * runs. Synced: every sink holds the current snapshot version (reasons Exported, Pending,
   * AwaitingResync, ExportFailed, DeleteHeld, Suspended). SinkReachable: False (reason
   * Unreachable, naming the sinks) while the last export attempt to a sink could not connect to
   * it, else True (Reachable). Delivered (written by the watcher, only after a failure): False
   * while changes cannot reach the workflow (StoreUnavailable, TemporalUnavailable), True again
   * once they do. GitPathsDisjoint (written by the watcher, only after an overlap): False
   * (reason GitPathOverlap, naming the other inventory) while a Git sink of this inventory writes
   * a path equal to or nested with one an earlier inventory writes in the same repository and
   * branch, True (Disjoint) once it no longer does.
   * @maxItems 16
   * @x-kubernetes-list-type map
   * @x-kubernetes-list-map-keys ["type"]
   */
  conditions?: Condition[];
  /**
   * metadata.generation the status describes.
   * @minimum 0
   */
  observedGeneration?: number;
  /**
   * Rows in the current snapshot.
   * @minimum 0
   */
  rows?: number;
  /**
   * Per sink: last attempt, last success, last error, circuit state and exported version.
   * @x-kubernetes-list-type map
   * @x-kubernetes-list-map-keys ["kind", "name"]
   */
  sinkExports?: SinkExportStatus[];
  /** ID of the Temporal workflow that holds this inventory's snapshot (find its exports in the Temporal UI). */
  workflowId?: string;
  /**
   * Per target with any (written by the watcher): objects whose rows are quarantined or have
   * evaluation errors, as in the target's status.rowIssues.
   * @maxItems 64
   */
  targetRowIssues?: InventoryTargetRowIssues[];
  /**
   * Lineage of the snapshot: the workflow run that began it, carried across continue-as-new. A
   * new lineage (the workflow was terminated, reset or lost its history) makes the watcher resend
   * every row, and no sink loses a row until every target has completed a full resync.
   */
  lineage?: string;
}
/**
 * KollectInventory rolls KollectTargets up into one snapshot and exports it to every
 * referenced sink in parallel, each with its own interval, retries and circuit breaker.
 * status.sinkExports shows each sink's last success and last error.
 */
export interface KollectInventory { apiVersion: 'kollect.dev/v1alpha1'; kind: 'KollectInventory'; metadata: ObjectMeta; spec: KollectInventorySpec; status?: KollectInventoryStatus }

// ---------- Sinks ----------

/** TLS settings for the connection to the backend. */
export interface TlsConfig {
  /** Secret holding a PEM CA bundle to trust (key default `ca.crt`). */
  caSecretRef?: SecretKeyReference;
}

// Each sink type's spec block lives in api/sinks/<type>.ts and is listed once in its family's
// blocks (api/sinks/index.ts); the family's `type` enum is derived from that list.
export type SnapshotSinkType = keyof SnapshotSinkBlocks;
export type DatabaseSinkType = keyof DatabaseSinkBlocks;
export type EventSinkType = keyof EventSinkBlocks;
export type SinkType = SnapshotSinkType | DatabaseSinkType | EventSinkType;

/** Serializations a sink may write; each sink type accepts a subset (its descriptor's formats). */
export const SERIALIZATION_FORMATS = ['yaml', 'json', 'parquet'] as const;
export type SerializationFormat = (typeof SERIALIZATION_FORMATS)[number];

export interface SinkCommonSpec {
  /** Secret with the credentials (keys per type: username/password, token, password). */
  secretRef?: LocalObjectReference;
  /** TLS settings for the connection to the backend. */
  tls?: TlsConfig;
  /** While true, nothing is exported to this sink; inventories keep exporting to their other sinks. */
  suspend?: boolean;
  /**
   * Attempts per export before it counts as failed (default 5).
   * @default 5
   * @minimum 1
   * @maximum 100
   */
  maxAttempts?: number;
  /**
   * Delete guard of state sinks: an export that would delete more than this percentage of the
   * rows the sink holds for the inventory is held (status reason DeleteHeld) unless the snapshot
   * has a complete resync of every target behind it. Default 50; 100 disables the guard.
   * @default 50
   * @minimum 0
   * @maximum 100
   */
  maxDeletePercent?: number;
  /**
   * Whether the sink may create what it writes into when missing: the bucket, table, topic or
   * stream (default true). When false, a missing one is a configuration error naming it.
   * @default true
   */
  create?: boolean;
}

/** Where and how snapshots are written: the backend type and its block. */
export interface KollectSnapshotSinkSpec extends SinkCommonSpec, SnapshotSinkBlocks {
  /** Backend: git, gitlab, s3 or gcs. Its settings go in the field of the same name (spec.git for git). */
  type: SnapshotSinkType;
  /**
   * Serialization of the exported files. Each type writes some of yaml, json and parquet, and
   * defaults to the first it lists (docs/crds.md#kollectsnapshotsink): yaml for git.
   */
  format?: SerializationFormat;
}
/** Which database receives the rows: the backend type and its block. */
export interface KollectDatabaseSinkSpec extends SinkCommonSpec, DatabaseSinkBlocks {
  /** Backend: postgres, mongodb or bigquery. Its settings go in the field of the same name (spec.postgres for postgres). */
  type: DatabaseSinkType;
}
/** Which stream receives the change events: the backend type and its block. */
export interface KollectEventSinkSpec extends SinkCommonSpec, EventSinkBlocks {
  /** Backend: kafka or nats. Its settings go in the field of the same name (spec.nats for nats). */
  type: EventSinkType;
}

/** Where the sink writes, as the operator resolves it from the spec (nothing is written to preview it). */
export interface SinkPreview {
  /**
   * What the sink connects to: URL without credentials, bucket, project.
   * @maxLength 2048
   */
  endpoint: string;
  /**
   * Where an inventory's rows land, for an inventory named `<inventory>` in this namespace: the
   * resolved path, object key, table, topic or subject.
   * @maxLength 2048
   */
  location: string;
  /**
   * One made-up row as the sink would write it (a file, a document, a message), shortened to 2 KiB.
   * @maxLength 4096
   */
  sample?: string;
}

/** Observed state of a sink, written by the operator. */
export interface SinkStatus {
  /** Where the sink writes, resolved from the spec. */
  preview?: SinkPreview;
  /**
   * Latest observations. Ready: the sink's settings and Secret resolve and its backend is available.
   * @maxItems 16
   * @x-kubernetes-list-type map
   * @x-kubernetes-list-map-keys ["type"]
   */
  conditions?: Condition[];
  /**
   * metadata.generation the status describes.
   * @minimum 0
   */
  observedGeneration?: number;
}
/**
 * KollectSnapshotSink: a state sink that stores whole snapshots as files (git, gitlab, s3, gcs).
 * KollectInventories reference it in spec.snapshotSinkRefs.
 */
export interface KollectSnapshotSink { apiVersion: 'kollect.dev/v1alpha1'; kind: 'KollectSnapshotSink'; metadata: ObjectMeta; spec: KollectSnapshotSinkSpec; status?: SinkStatus }
/**
 * KollectDatabaseSink: a state sink that keeps one row per collected object (postgres,
 * mongodb, bigquery). KollectInventories reference it in spec.databaseSinkRefs.
 */
export interface KollectDatabaseSink { apiVersion: 'kollect.dev/v1alpha1'; kind: 'KollectDatabaseSink'; metadata: ObjectMeta; spec: KollectDatabaseSinkSpec; status?: SinkStatus }
/**
 * KollectEventSink: an event sink that receives every change as an upsert or delete event
 * (kafka, nats). KollectInventories reference it in spec.eventSinkRefs.
 */
export interface KollectEventSink { apiVersion: 'kollect.dev/v1alpha1'; kind: 'KollectEventSink'; metadata: ObjectMeta; spec: KollectEventSinkSpec; status?: SinkStatus }
export type KollectSink = KollectSnapshotSink | KollectDatabaseSink | KollectEventSink;

// ---------- Connection tests ----------

/** A sink to probe, in the test's namespace. */
export interface SinkReference {
  /** KollectSnapshotSink, KollectDatabaseSink or KollectEventSink. */
  kind: SinkKind;
  /**
   * Name of the sink.
   * @minLength 1
   * @maxLength 253
   */
  name: string;
}

/**
 * Which sink to probe, and how long to keep the result.
 * @x-kubernetes-validations [{rule: "self == oldSelf", message: "spec is immutable: create a new KollectConnectionTest to probe again"}]
 */
export interface KollectConnectionTestSpec {
  /** The sink to probe, with the sink's own Secret and CA. */
  sinkRef: SinkReference;
  /**
   * Seconds after the test finished before the operator deletes it.
   * @default 300
   * @minimum 0
   * @maximum 604800
   */
  ttlSecondsAfterFinished?: number;
}

export const CONNECTION_TEST_PHASES = ['Running', 'Succeeded', 'Failed'] as const;

/** What the probe found. */
export interface KollectConnectionTestStatus {
  /** Running, Succeeded or Failed. */
  phase?: (typeof CONNECTION_TEST_PHASES)[number];
  /**
   * What was reached and checked, or why it failed (credentials redacted).
   * @maxLength 4096
   */
  message?: string;
  /** The sink's backend type. */
  sinkType?: string;
  /**
   * What the probe connected to (no credentials).
   * @maxLength 2048
   */
  endpoint?: string;
  /**
   * Time the probe took, in milliseconds.
   * @minimum 0
   */
  latencyMs?: number;
  /**
   * When the probe started (RFC 3339).
   * @format date-time
   */
  startTime?: string;
  /**
   * When the probe finished (RFC 3339); the TTL counts from here.
   * @format date-time
   */
  completionTime?: string;
  /** Temporal workflow that ran the probe. */
  workflowId?: string;
}

/**
 * KollectConnectionTest: probes a sink now, with the sink's real credentials, without exporting
 * anything; the result and latency land in status, and the test deletes itself
 * ttlSecondsAfterFinished after it finished. The spec is immutable: create a new test to probe again.
 */
export interface KollectConnectionTest { apiVersion: 'kollect.dev/v1alpha1'; kind: 'KollectConnectionTest'; metadata: ObjectMeta; spec: KollectConnectionTestSpec; status?: KollectConnectionTestStatus }

// ---------- Tenancy: KollectScope and the cluster kinds (docs/tenancy.md) ----------

/**
 * A group/version/kind pattern. Each part is a name or a glob where `*` matches any characters,
 * e.g. `{group: "apps", kind: "*"}` or `{group: "*.example.com", kind: "*"}`.
 */
export interface KindPattern {
  /**
   * API group; `""` is the core group (v1 kinds: ConfigMap, Service…), `*` any group.
   * @maxLength 253
   * @pattern ^[-a-z0-9.*]*$
   */
  group: string;
  /**
   * Version, e.g. `v1`; `*` (default) any version.
   * @default *
   * @minLength 1
   * @maxLength 63
   * @pattern ^[a-z0-9*]+$
   */
  version?: string;
  /**
   * Kind, e.g. `Deployment`; `*` (default) any kind of the group.
   * @default *
   * @minLength 1
   * @maxLength 63
   * @pattern ^[A-Za-z0-9*]+$
   */
  kind?: string;
}

/** What the KollectProfiles, KollectTargets and KollectInventories of one namespace may use. */
export interface KollectScopeSpec {
  /**
   * Kinds the KollectProfiles of this namespace may watch. Unset: any kind (within the
   * namespaces below); set: only kinds matching one pattern, e.g. `[{group: "apps"}]`.
   * @maxItems 64
   */
  kinds?: KindPattern[];
  /**
   * Namespaces the KollectTargets of this namespace may read besides their own; `*` grants every
   * namespace. Unset: their own namespace only.
   * @maxItems 256
   * @eachItem {minLength: 1, maxLength: 63, pattern: "^([a-z0-9]([-a-z0-9]*[a-z0-9])?|\\*)$"}
   * @x-kubernetes-list-type set
   */
  namespaces?: string[];
  /**
   * Cluster-scoped kinds (Namespace, Node, ClusterRole…) the KollectTargets of this namespace may
   * read. Unset: none.
   * @maxItems 64
   */
  clusterKinds?: KindPattern[];
  /**
   * Sink types (git, postgres, nats…) the KollectInventories of this namespace may export to.
   * Unset: any type.
   * @maxItems 32
   * @eachItem {minLength: 1, maxLength: 63, pattern: "^[a-z0-9]+$"}
   * @x-kubernetes-list-type set
   */
  sinkTypes?: string[];
}
/** Observed state of a KollectScope, written by the operator. */
export interface KollectScopeStatus {
  /**
   * Latest observations. Ready (reason Accepted): the operator enforces the scope; the message
   * says what it grants.
   * @maxItems 16
   * @x-kubernetes-list-type map
   * @x-kubernetes-list-map-keys ["type"]
   */
  conditions?: Condition[];
  /**
   * metadata.generation the status describes.
   * @minimum 0
   */
  observedGeneration?: number;
}
/**
 * KollectScope: what the Kollect objects of its namespace may do when the operator runs in tenant
 * mode (KOLLECT_TENANT_MODE, the default): which kinds profiles may watch, which other namespaces
 * and cluster-scoped kinds targets may read, which sink types inventories may export to. One per
 * namespace, named `default`, written by cluster administrators (tenants get no RBAC on it; see
 * docs/tenancy.md). Without one, a namespace's targets read their own namespace only.
 */
export interface KollectScope { apiVersion: 'kollect.dev/v1alpha1'; kind: 'KollectScope'; metadata: ObjectMeta; spec: KollectScopeSpec; status?: KollectScopeStatus }

/** Reference to a namespaced object by name and namespace. */
export interface NamespacedObjectReference {
  /**
   * Name of the referenced object.
   * @minLength 1
   * @maxLength 253
   * @pattern ^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$
   */
  name: string;
  /**
   * Namespace of the referenced object.
   * @minLength 1
   * @maxLength 63
   * @pattern ^[a-z0-9]([-a-z0-9]*[a-z0-9])?$
   */
  namespace: string;
}

/** Which objects of the profile's type to collect, cluster-wide. */
export interface KollectClusterTargetSpec {
  /** A KollectProfile, by name and namespace (shared profiles typically live in kollect-system). */
  profileRef: NamespacedObjectReference;
  /**
   * Namespaces to collect from; empty means all namespaces (those of KOLLECT_WATCH_NAMESPACES
   * when the operator is limited to some). Ignored for cluster-scoped kinds.
   * @maxItems 256
   * @eachItem {minLength: 1, maxLength: 63, pattern: "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"}
   * @x-kubernetes-list-type set
   */
  namespaces?: string[];
  /**
   * Collect only from namespaces whose labels match (with spec.namespaces: among those). A
   * namespace created or relabelled joins or leaves at once. Ignored for cluster-scoped kinds.
   */
  namespaceSelector?: LabelSelector;
  /** Collect only objects whose labels match. */
  labelSelector?: LabelSelector;
  /**
   * Field selector in the apiserver's syntax, e.g. `metadata.name!=kube-root-ca.crt`.
   * @minLength 1
   * @maxLength 1024
   */
  fieldSelector?: string;
  /** While true, the target collects nothing: its watch is stopped. */
  suspend?: boolean;
}
/**
 * KollectClusterTarget: a cluster administrator's target. It uses a namespaced KollectProfile
 * (by name and namespace) and may read any namespace and cluster-scoped kinds, whatever the
 * KollectScopes say. KollectClusterInventories roll cluster targets up.
 */
export interface KollectClusterTarget { apiVersion: 'kollect.dev/v1alpha1'; kind: 'KollectClusterTarget'; metadata: ObjectMeta; spec: KollectClusterTargetSpec; status?: KollectTargetStatus }

/** A sink by name and namespace (default the inventory's spec.sinkNamespace), with an optional per-sink interval. */
export interface ClusterSinkRef {
  /**
   * Name of the sink.
   * @minLength 1
   * @maxLength 253
   * @pattern ^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$
   */
  name: string;
  /**
   * Namespace of the sink; default spec.sinkNamespace.
   * @minLength 1
   * @maxLength 63
   * @pattern ^[a-z0-9]([-a-z0-9]*[a-z0-9])?$
   */
  namespace?: string;
  /**
   * Minimum time between two exports to this sink (Go duration, e.g. `30s`, `5m`). Defaults to the inventory's.
   * @maxLength 32
   * @pattern ^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$
   */
  exportMinInterval?: string;
}

/**
 * Which cluster targets roll up together, and which namespaced sinks receive the result.
 * @x-kubernetes-validations [{rule: "has(self.sinkNamespace) || ((!has(self.snapshotSinkRefs) || self.snapshotSinkRefs.all(r, has(r.namespace))) && (!has(self.databaseSinkRefs) || self.databaseSinkRefs.all(r, has(r.namespace))) && (!has(self.eventSinkRefs) || self.eventSinkRefs.all(r, has(r.namespace))))", message: "every sink ref needs a namespace unless spec.sinkNamespace is set", reason: "FieldValueRequired"}]
 */
export interface KollectClusterInventorySpec {
  /**
   * KollectClusterTargets whose objects roll up here.
   * @minItems 1
   * @maxItems 64
   * @x-kubernetes-list-type map
   * @x-kubernetes-list-map-keys ["name"]
   */
  targetRefs: LocalObjectReference[];
  /**
   * Namespace of the sink refs that name none (platform sinks typically live in kollect-system).
   * @minLength 1
   * @maxLength 63
   * @pattern ^[a-z0-9]([-a-z0-9]*[a-z0-9])?$
   */
  sinkNamespace?: string;
  /**
   * KollectSnapshotSinks (git, gitlab, s3, gcs), by name and namespace, that receive every export.
   * @maxItems 16
   */
  snapshotSinkRefs?: ClusterSinkRef[];
  /**
   * KollectDatabaseSinks (postgres, mongodb, bigquery), by name and namespace, that receive every export.
   * @maxItems 16
   */
  databaseSinkRefs?: ClusterSinkRef[];
  /**
   * KollectEventSinks (kafka, nats), by name and namespace, that receive every change.
   * @maxItems 16
   */
  eventSinkRefs?: ClusterSinkRef[];
  /**
   * Minimum time between two exports (Go duration), default `30s`.
   * @default 30s
   * @maxLength 32
   * @pattern ^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$
   */
  exportMinInterval?: string;
  /**
   * Cluster name written into every row. Unset means the operator's cluster name
   * (KOLLECT_CLUSTER_NAME, `default` when unset).
   * @minLength 1
   * @maxLength 63
   * @pattern ^[a-z0-9]([-a-z0-9]*[a-z0-9])?$
   */
  cluster?: string;
  /** While true, the inventory exports nothing to its sinks. */
  suspend?: boolean;
  /**
   * Upper bound of one export's serialized size in bytes; larger exports fail with a clear error.
   * @minimum 1
   */
  maxExportBytes?: number;
  /**
   * How often every state sink gets a full reconcile instead of the changes since its watermark
   * (Go duration), default `24h`.
   * @default 24h
   * @maxLength 32
   * @pattern ^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$
   */
  fullReconcileInterval?: string;
}
/**
 * KollectClusterInventory: a cluster-wide rollup of KollectClusterTargets, exported to namespaced
 * sinks referenced by name and namespace. It runs the inventory workflow of KollectInventory,
 * with workflow ID `kollect/clusterinventory/<name>`; its status is that of a KollectInventory,
 * and its sinks appear in status.sinkExports as `<namespace>/<name>`. Sinks receive its rows with
 * an empty inventory namespace.
 */
export interface KollectClusterInventory { apiVersion: 'kollect.dev/v1alpha1'; kind: 'KollectClusterInventory'; metadata: ObjectMeta; spec: KollectClusterInventorySpec; status?: KollectInventoryStatus }
