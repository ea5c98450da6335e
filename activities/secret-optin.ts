// The sink Secret opt-in (docs/sinks.md#credentials): a sink may read only a Secret labelled
// SINK_CREDENTIALS_LABEL=SINK_CREDENTIALS_VALUE. Checked where credentials are read (every
// export and connection probe), and by the watcher for the sink's Ready condition.
import { SINK_CREDENTIALS_LABEL, SINK_CREDENTIALS_VALUE } from '../api/constants.js';
import { SinkConfigError } from './sinks/types.js';

/** Whether a Secret with these labels may be used by a sink. */
export const secretOptedIn = (labels: Readonly<Record<string, string>> | undefined): boolean => labels?.[SINK_CREDENTIALS_LABEL] === SINK_CREDENTIALS_VALUE;

/** What to tell the user about a Secret that has not opted in: the Secret, the field, the label to add. */
export function secretNotAllowedMessage(field: string, namespace: string, name: string): string {
  return `${field}: Secret ${namespace}/${name} is not labelled ${SINK_CREDENTIALS_LABEL}=${SINK_CREDENTIALS_VALUE}; a sink may only use a Secret that opts in: `
    + `kubectl -n ${namespace} label secret ${name} ${SINK_CREDENTIALS_LABEL}=${SINK_CREDENTIALS_VALUE}`;
}

/** A sink names a Secret that has not opted in: a configuration error (non-retryable, reason SecretNotAllowed). */
export class SecretNotAllowedError extends SinkConfigError {
  constructor(field: string, readonly namespace: string, readonly secret: string) {
    super(field, '');
    this.message = secretNotAllowedMessage(field, namespace, secret);
  }
}
