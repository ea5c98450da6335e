// The Kollect API (group kollect.dev, version v1alpha1): the TypeScript side of the CRDs.
// This file is the contract every side codes against. The CRD schemas under deploy/crds are
// generated from these types (scripts/gen-crds.ts), and a test checks that they agree.

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
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason: string;
  message: string;
  lastTransitionTime: string;
  observedGeneration?: number;
}

export interface LocalObjectReference { name: string }
export interface SecretKeyReference { name: string; key?: string }

// ---------- KollectProfile ----------

export const EXPORT_MODES = ['Attributes', 'Resource'] as const;
export type ExportMode = (typeof EXPORT_MODES)[number];

export interface ProfileAttribute {
  /** Column / field name in every sink. */
  name: string;
  /** CEL expression; the watched object is bound as `object`. Exactly one of cel, jsonPath. */
  cel?: string;
  /** JSONPath, kubectl spelling accepted (`{.spec.replicas}`). */
  jsonPath?: string;
}

export interface ProfilePrune {
  /** Drop managedFields, resourceVersion, generation, last-applied-configuration, status? (default true). */
  defaults?: boolean;
  /** RFC 6901 pointers to remove. */
  jsonPointers?: string[];
  /** Keys removed wherever they appear. */
  scrubKeys?: string[];
}

export interface ProfileExport {
  /** Attributes (default): the named attributes. Resource: the whole object minus pruning. */
  mode?: ExportMode;
  prune?: ProfilePrune;
}

export interface KollectProfileSpec {
  /** The watched type, e.g. `apps/v1` or `v1`. */
  apiVersion: string;
  kind: string;
  attributes?: ProfileAttribute[];
  /** CEL boolean expression; objects for which it is false are not collected. */
  filter?: string;
  /** Keys removed from extracted attributes wherever they appear (secrets, tokens). */
  scrubKeys?: string[];
  export?: ProfileExport;
}

export interface KollectProfileStatus { conditions?: Condition[]; observedGeneration?: number }
export interface KollectProfile { apiVersion: 'kollect.dev/v1alpha1'; kind: 'KollectProfile'; metadata: ObjectMeta; spec: KollectProfileSpec; status?: KollectProfileStatus }

// ---------- KollectTarget ----------

export interface LabelSelectorRequirement { key: string; operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist'; values?: string[] }
export interface LabelSelector { matchLabels?: Record<string, string>; matchExpressions?: LabelSelectorRequirement[] }

export interface KollectTargetSpec {
  /** A KollectProfile in the Target's namespace. */
  profileRef: LocalObjectReference;
  /** Namespaces to collect from; empty means all namespaces. */
  namespaces?: string[];
  labelSelector?: LabelSelector;
  /** Field selector in the apiserver's syntax, e.g. `metadata.name!=kube-root-ca.crt`. */
  fieldSelector?: string;
  suspend?: boolean;
}
export interface KollectTargetStatus { conditions?: Condition[]; observedGeneration?: number; objects?: number }
export interface KollectTarget { apiVersion: 'kollect.dev/v1alpha1'; kind: 'KollectTarget'; metadata: ObjectMeta; spec: KollectTargetSpec; status?: KollectTargetStatus }

// ---------- KollectInventory ----------

export interface SinkRef {
  name: string;
  /** Minimum time between two exports to this sink (Go duration, e.g. `30s`, `5m`). Defaults to the inventory's. */
  exportMinInterval?: string;
}

export interface KollectInventorySpec {
  /** KollectTargets in the inventory's namespace whose objects roll up here. */
  targetRefs: LocalObjectReference[];
  snapshotSinkRefs?: SinkRef[];
  databaseSinkRefs?: SinkRef[];
  eventSinkRefs?: SinkRef[];
  /** Minimum time between two exports (Go duration), default `30s`. */
  exportMinInterval?: string;
  /** Cluster name written into every row; fleets share sinks partitioned by it. */
  cluster?: string;
  suspend?: boolean;
  /** Upper bound of one export's serialized size in bytes; larger exports fail with a clear error. */
  maxExportBytes?: number;
}

export const SINK_KINDS = ['KollectSnapshotSink', 'KollectDatabaseSink', 'KollectEventSink'] as const;
export type SinkKind = (typeof SINK_KINDS)[number];

export interface SinkExportStatus {
  kind: SinkKind;
  name: string;
  /** Sink backend type, e.g. postgres. */
  type?: string;
  lastAttemptTime?: string;
  lastSuccessTime?: string;
  /** Error of the last failed attempt, with credentials redacted; empty after a success. */
  lastError?: string;
  rowsExported?: number;
  consecutiveFailures?: number;
  /** closed (healthy), open (skipping exports until the cool-down ends), halfOpen (probing). */
  circuit?: 'closed' | 'open' | 'halfOpen';
  /** Snapshot version the sink holds. */
  exportedVersion?: number;
  /** Backend detail of the last success, e.g. a commit SHA. */
  detail?: string;
}

export interface KollectInventoryStatus {
  conditions?: Condition[];
  observedGeneration?: number;
  rows?: number;
  sinkExports?: SinkExportStatus[];
  workflowId?: string;
}
export interface KollectInventory { apiVersion: 'kollect.dev/v1alpha1'; kind: 'KollectInventory'; metadata: ObjectMeta; spec: KollectInventorySpec; status?: KollectInventoryStatus }

// ---------- Sinks ----------

export interface TlsConfig {
  /** Secret holding a PEM CA bundle to trust (key default `ca.crt`). */
  caSecretRef?: SecretKeyReference;
}

export const SNAPSHOT_SINK_TYPES = ['git', 'gitlab', 's3', 'gcs'] as const;
export const DATABASE_SINK_TYPES = ['postgres', 'mongodb', 'bigquery'] as const;
export const EVENT_SINK_TYPES = ['kafka', 'nats'] as const;
export type SnapshotSinkType = (typeof SNAPSHOT_SINK_TYPES)[number];
export type DatabaseSinkType = (typeof DATABASE_SINK_TYPES)[number];
export type EventSinkType = (typeof EVENT_SINK_TYPES)[number];

export const SERIALIZATION_FORMATS = ['yaml', 'json'] as const;

export interface GitSinkSpec {
  /** https:// URL of the repository. */
  url: string;
  branch?: string;
  /** Directory inside the repository, default the inventory's `<namespace>/<name>`. */
  path?: string;
  authorName?: string;
  authorEmail?: string;
}
export interface PostgresSinkSpec {
  /** postgres://user@host:port/db (no password: it comes from secretRef key `password`). */
  url: string;
  table?: string;
  schema?: string;
  sslMode?: 'disable' | 'require' | 'verify-full';
}
export interface NatsSinkSpec {
  /** nats:// or tls:// URL. */
  url: string;
  stream?: string;
  subjectPrefix?: string;
}

export interface SinkCommonSpec {
  /** Secret with the credentials (keys per type: username/password, token, password). */
  secretRef?: LocalObjectReference;
  tls?: TlsConfig;
  suspend?: boolean;
  /** Attempts per export before it counts as failed (default 5). */
  maxAttempts?: number;
}

export interface KollectSnapshotSinkSpec extends SinkCommonSpec { type: SnapshotSinkType; format?: (typeof SERIALIZATION_FORMATS)[number]; git?: GitSinkSpec }
export interface KollectDatabaseSinkSpec extends SinkCommonSpec { type: DatabaseSinkType; postgres?: PostgresSinkSpec }
export interface KollectEventSinkSpec extends SinkCommonSpec { type: EventSinkType; nats?: NatsSinkSpec }

export interface SinkStatus { conditions?: Condition[]; observedGeneration?: number }
export interface KollectSnapshotSink { apiVersion: 'kollect.dev/v1alpha1'; kind: 'KollectSnapshotSink'; metadata: ObjectMeta; spec: KollectSnapshotSinkSpec; status?: SinkStatus }
export interface KollectDatabaseSink { apiVersion: 'kollect.dev/v1alpha1'; kind: 'KollectDatabaseSink'; metadata: ObjectMeta; spec: KollectDatabaseSinkSpec; status?: SinkStatus }
export interface KollectEventSink { apiVersion: 'kollect.dev/v1alpha1'; kind: 'KollectEventSink'; metadata: ObjectMeta; spec: KollectEventSinkSpec; status?: SinkStatus }
export type KollectSink = KollectSnapshotSink | KollectDatabaseSink | KollectEventSink;
