// The spec block of sink type s3 (spec.s3): see api/sinks/index.ts.
/**
 * An S3 bucket (AWS or an S3-compatible store). Credentials come from secretRef (keys
 * accessKeyId, secretAccessKey, optional sessionToken); without secretRef the SDK's default chain
 * (environment, IRSA web identity, instance profile).
 */
export interface S3SinkSpec {
  /**
   * Bucket the snapshots are written to; created when missing unless spec.create is false.
   * @minLength 3
   * @maxLength 63
   * @pattern ^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$
   */
  bucket: string;
  /**
   * Region of the bucket.
   * @default us-east-1
   * @minLength 1
   * @maxLength 64
   * @pattern ^[a-z0-9-]+$
   */
  region?: string;
  /**
   * http(s):// URL of an S3-compatible store (MinIO, Ceph, versitygw…); unset for AWS.
   * @minLength 1
   * @maxLength 2048
   * @x-kubernetes-validations [{rule: "self.startsWith('https://') || self.startsWith('http://')", message: "must be an http:// or https:// URL", reason: "FieldValueForbidden"}, {rule: "!self.matches('^[a-z]+://[^/]*@')", message: "must not contain credentials: put them in the Secret named by spec.secretRef", reason: "FieldValueForbidden"}]
   */
  endpoint?: string;
  /**
   * Address buckets as `<endpoint>/<bucket>` instead of `<bucket>.<endpoint>`; default true when
   * endpoint is set (most S3-compatible stores want it), false for AWS.
   */
  forcePathStyle?: boolean;
  /**
   * Key prefix of an inventory's snapshot. Placeholders: {cluster}, {namespace} (of the
   * inventory) and {inventory} (its name); all three are required, so two inventories or two
   * clusters never share a prefix.
   * @default kollect/{cluster}/{namespace}/{inventory}
   * @minLength 1
   * @maxLength 512
   * @pattern ^[^\x00-\x1f\x7f]+$
   * @x-kubernetes-validations [{rule: "!self.startsWith('/') && !self.matches('(^|/)[.][.]?(/|$)')", message: "must be a relative key prefix without . or .. segments"}, {rule: "self.contains('{cluster}') && self.contains('{namespace}') && self.contains('{inventory}')", message: "must contain {cluster}, {namespace} and {inventory}"}]
   */
  pathTemplate?: string;
}
