// The spec block of sink type gcs (spec.gcs): see api/sinks/index.ts.
/**
 * A Google Cloud Storage bucket. Credentials come from secretRef key `credentials.json` (a
 * service-account key); without secretRef, Application Default Credentials (workload identity).
 */
export interface GcsSinkSpec {
  /**
   * Bucket the snapshots are written to; created when missing unless spec.create is false.
   * @minLength 3
   * @maxLength 222
   * @pattern ^[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]$
   */
  bucket: string;
  /**
   * Project a missing bucket is created in; default the service account's project.
   * @minLength 1
   * @maxLength 64
   * @pattern ^[a-z0-9][a-z0-9:.-]*$
   */
  projectId?: string;
  /**
   * Location of a bucket the sink creates (e.g. EU, us-central1); default the service's (US).
   * @minLength 1
   * @maxLength 64
   * @pattern ^[A-Za-z0-9-]+$
   */
  location?: string;
  /**
   * http(s):// URL of the JSON API (an emulator or a private endpoint); unset for
   * https://storage.googleapis.com.
   * @minLength 1
   * @maxLength 2048
   * @x-kubernetes-validations [{rule: "self.startsWith('https://') || self.startsWith('http://')", message: "must be an http:// or https:// URL", reason: "FieldValueForbidden"}, {rule: "!self.matches('^[a-z]+://[^/]*@')", message: "must not contain credentials: put them in the Secret named by spec.secretRef", reason: "FieldValueForbidden"}]
   */
  apiEndpoint?: string;
  /**
   * Object name prefix of an inventory's snapshot. Placeholders: {cluster}, {namespace} (of the
   * inventory) and {inventory} (its name); all three are required, so two inventories or two
   * clusters never share a prefix.
   * @default kollect/{cluster}/{namespace}/{inventory}
   * @minLength 1
   * @maxLength 512
   * @pattern ^[^\x00-\x1f\x7f]+$
   * @x-kubernetes-validations [{rule: "!self.startsWith('/') && !self.matches('(^|/)[.][.]?(/|$)')", message: "must be a relative name prefix without . or .. segments"}, {rule: "self.contains('{cluster}') && self.contains('{namespace}') && self.contains('{inventory}')", message: "must contain {cluster}, {namespace} and {inventory}"}]
   */
  pathTemplate?: string;
}
