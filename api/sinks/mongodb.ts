// The spec block of sink type mongodb (spec.mongodb): see api/sinks/index.ts.
/** A MongoDB collection, one document per row; credentials come from secretRef (username, password). */
export interface MongodbSinkSpec {
  /**
   * mongodb:// or mongodb+srv:// connection string (no password: it comes from secretRef key
   * `password`). Options such as replicaSet, tls, authMechanism or authSource may follow `?`.
   * @minLength 1
   * @maxLength 2048
   * @x-kubernetes-validations [{rule: "self.startsWith('mongodb://') || self.startsWith('mongodb+srv://')", message: "must be a mongodb:// or mongodb+srv:// URL", reason: "FieldValueForbidden"}, {rule: "!self.matches('^[a-z+]+://[^/@]*:[^/@]*@')", message: "must not contain a password: put it in the Secret named by spec.secretRef (key password)", reason: "FieldValueForbidden"}]
   */
  url: string;
  /**
   * Database holding the rows and watermarks collections.
   * @default kollect
   * @minLength 1
   * @maxLength 63
   * @pattern ^[A-Za-z0-9_-]+$
   */
  database?: string;
  /**
   * Collection the rows go to; created (with its indexes) if missing unless spec.create is false.
   * @default kollect_rows
   * @minLength 1
   * @maxLength 120
   * @pattern ^[A-Za-z_][A-Za-z0-9_.-]*$
   * @x-kubernetes-validations [{rule: "!self.startsWith('system.') && self != 'kollect_watermarks'", message: "must not be a system collection or kollect_watermarks"}]
   */
  collection?: string;
  /**
   * Database the user is defined in (the URL's authSource, else the driver's default: admin,
   * or $external for authMechanism PLAIN).
   * @minLength 1
   * @maxLength 63
   */
  authSource?: string;
}
