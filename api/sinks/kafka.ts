// The spec block of sink type kafka (spec.kafka): see api/sinks/index.ts.
/**
 * A Kafka topic, one record per changed row, keyed by the row's identity. SASL credentials come
 * from secretRef keys `username` and `password`.
 */
export interface KafkaSinkSpec {
  /**
   * Bootstrap brokers as host:port (the rest of the cluster is discovered from them).
   * @minItems 1
   * @maxItems 32
   * @eachItem {maxLength: 261}
   * @x-kubernetes-list-type atomic
   * @x-kubernetes-validations [{rule: "self.all(b, b.matches('^([A-Za-z0-9]([-A-Za-z0-9.]*[A-Za-z0-9])?|\\\\[[0-9A-Fa-f:.]+\\\\]):[0-9]{1,5}$'))", message: "each broker must be host:port, without scheme or credentials (put those in the Secret named by spec.secretRef)", reason: "FieldValueForbidden"}]
   */
  brokers: string[];
  /**
   * Topic the records go to.
   * @default kollect.rows
   * @minLength 1
   * @maxLength 249
   * @pattern ^[A-Za-z0-9._-]+$
   */
  topic?: string;
  /**
   * Partitions of the topic when the sink creates it (spec.create). A row's records always go to
   * the same partition (by key), so they stay in order.
   * @default 6
   * @minimum 1
   * @maximum 10000
   */
  partitions?: number;
  /**
   * Replication factor of the topic when the sink creates it, capped to the number of brokers
   * in the cluster.
   * @default 3
   * @minimum 1
   * @maximum 32
   */
  replicationFactor?: number;
  /** SASL authentication with secretRef keys `username` and `password`; unset: none. */
  sasl?: KafkaSasl;
  /**
   * Connect with TLS. Also on when spec.tls.caSecretRef is set (the CA to verify the brokers
   * with; otherwise the system's CAs).
   * @default false
   */
  tls?: boolean;
}

export interface KafkaSasl {
  /** SASL mechanism. */
  mechanism: 'plain' | 'scram-sha-256' | 'scram-sha-512';
}
