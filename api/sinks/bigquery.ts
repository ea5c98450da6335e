// The spec block of sink type bigquery (spec.bigquery): see api/sinks/index.ts.
/** Columns of the rows table that clustering may name. */
export type BigQueryColumn = 'inventory_namespace' | 'inventory_name' | 'cluster' | 'target_name' | 'source_uid'
  | 'api_version' | 'kind' | 'namespace' | 'name' | 'content_hash' | 'snapshot_version' | 'exported_at';

/** How the rows table is time-partitioned on `exported_at` (used when the sink creates it). */
export interface BigQueryPartitioning {
  /**
   * Partition granularity.
   * @default DAY
   */
  type?: 'HOUR' | 'DAY' | 'MONTH' | 'YEAR';
}

/**
 * A BigQuery table. Credentials: a service-account key in secretRef key `credentials.json`, or,
 * with no secretRef, the operator's Application Default Credentials (e.g. GKE Workload Identity).
 */
export interface BigQuerySinkSpec {
  /**
   * Google Cloud project ID holding the dataset; the load and query jobs run in it too.
   * @minLength 6
   * @maxLength 94
   * @pattern ^([a-z][a-z0-9.-]*[a-z0-9]:)?[a-z][a-z0-9-]{4,28}[a-z0-9]$
   */
  project: string;
  /**
   * Dataset holding the rows table and the `kollect_watermarks` table.
   * @default kollect
   * @minLength 1
   * @maxLength 1024
   * @pattern ^[A-Za-z0-9_]+$
   */
  dataset?: string;
  /**
   * Table the rows go to (`kollect_watermarks` and names starting `kollect_stage_` are reserved).
   * @default kollect_rows
   * @minLength 1
   * @maxLength 1024
   * @pattern ^[A-Za-z_][A-Za-z0-9_]*$
   */
  table?: string;
  /**
   * Location of the dataset (multi-region such as US or EU, or a region such as europe-west4);
   * the dataset is created there, and the jobs run there.
   * @default US
   * @minLength 1
   * @maxLength 64
   * @pattern ^[A-Za-z0-9-]+$
   */
  location?: string;
  /**
   * Root URL of the BigQuery API, for a private endpoint or an emulator; default
   * https://bigquery.googleapis.com. https://, or http:// to a loopback address only (an
   * emulator: requests then carry no credentials).
   * @minLength 1
   * @maxLength 2048
   * @x-kubernetes-validations [{rule: "self.startsWith('https://') || self.matches('^http://(127[.][0-9]+[.][0-9]+[.][0-9]+|localhost|\\\\[::1\\\\])(:[0-9]+)?(/.*)?$')", message: "must be an https:// URL, or http:// to a loopback address", reason: "FieldValueForbidden"}, {rule: "!self.matches('^[a-z]+://[^/]*@')", message: "must not contain credentials: put them in the Secret named by spec.secretRef", reason: "FieldValueForbidden"}]
   */
  apiEndpoint?: string;
  /** Time partitioning on `exported_at` of a table the sink creates (default by DAY). */
  partitioning?: BigQueryPartitioning;
  /**
   * Clustering columns of a table the sink creates (at most 4, in order).
   * @default ["inventory_namespace", "inventory_name", "cluster", "kind"]
   * @maxItems 4
   */
  clustering?: BigQueryColumn[];
}
