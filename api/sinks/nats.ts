// The spec block of sink type nats (spec.nats): see api/sinks/index.ts.
/** A NATS JetStream stream; an optional token comes from secretRef key `token`. */
export interface NatsSinkSpec {
  /**
   * nats:// or tls:// URL.
   * @minLength 1
   * @maxLength 2048
   * @x-kubernetes-validations [{rule: "self.startsWith('nats://') || self.startsWith('tls://')", message: "must be a nats:// or tls:// URL", reason: "FieldValueForbidden"}, {rule: "!self.matches('^[a-z]+://[^/@]*:[^/@]*@')", message: "must not contain a password: put credentials in the Secret named by spec.secretRef", reason: "FieldValueForbidden"}]
   */
  url: string;
  /**
   * JetStream stream the events are published to.
   * @default KOLLECT
   * @minLength 1
   * @maxLength 255
   * @pattern ^[A-Za-z0-9_-]+$
   */
  stream?: string;
  /**
   * First token(s) of every subject the events are published on.
   * @default kollect
   * @minLength 1
   * @maxLength 255
   * @pattern ^[A-Za-z0-9_-]+([.][A-Za-z0-9_-]+)*$
   */
  subjectPrefix?: string;
}
