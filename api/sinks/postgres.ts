// The spec block of sink type postgres (spec.postgres): see api/sinks/index.ts.
/** A PostgreSQL table; the password comes from secretRef key `password`. */
export interface PostgresSinkSpec {
  /**
   * postgres://user@host:port/db (no password: it comes from secretRef key `password`).
   * @minLength 1
   * @maxLength 2048
   * @x-kubernetes-validations [{rule: "self.startsWith('postgres://') || self.startsWith('postgresql://')", message: "must be a postgres:// or postgresql:// URL", reason: "FieldValueForbidden"}, {rule: "!self.matches('^[a-z]+://[^/@]*:[^/@]*@')", message: "must not contain a password: put it in the Secret named by spec.secretRef (key password)", reason: "FieldValueForbidden"}]
   */
  url: string;
  /**
   * Table the rows go to; created if missing.
   * @default kollect_rows
   * @minLength 1
   * @maxLength 63
   * @pattern ^[A-Za-z_][A-Za-z0-9_]*$
   */
  table?: string;
  /**
   * Schema of the table.
   * @default public
   * @minLength 1
   * @maxLength 63
   * @pattern ^[A-Za-z_][A-Za-z0-9_]*$
   */
  schema?: string;
  /**
   * TLS mode: disable, require (encrypted, unverified) or verify-full (verified against
   * tls.caSecretRef, else the system trust store). Unset: the URL's `sslmode` parameter, else
   * verify-full; a server without TLS needs `disable` said explicitly.
   */
  sslMode?: 'disable' | 'require' | 'verify-full';
}
