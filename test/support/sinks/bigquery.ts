// The bigquery sink against the harness's bqemulator: a dataset per spec, read back over SQL.
import { BigQuery } from '@google-cloud/bigquery';
import { PassThroughClient } from 'google-auth-library';
import type { BigQuerySinkSpec } from '../../../api/types.js';
import { sqlString } from '../../../activities/sinks/bigquery.js';
import { service } from '../../harness/endpoints.js';
import { testGuard, type HeldRow, type SinkFixture } from './fixture.js';

/** A client of the emulator for checks and foreign edits (the emulator takes no credentials). */
export function bigqueryAdmin(): BigQuery {
  const { apiEndpoint, projectId } = service('bigquery');
  return new BigQuery({ projectId, apiEndpoint, authClient: new PassThroughClient(), maxRetries: 1 });
}

/** Runs one statement through the admin client; returns its rows. */
export async function bigquerySql<T = Record<string, unknown>>(sql: string): Promise<T[]> {
  const [rows] = await bigqueryAdmin().query({ query: sql, location: 'US' });
  return rows as T[];
}

export const bigqueryFixture: SinkFixture<BigQuerySinkSpec> = {
  type: 'bigquery',
  service: 'bigquery',
  spec: (unique) => {
    const { apiEndpoint, projectId } = service('bigquery');
    return { project: projectId, apiEndpoint, dataset: `kt_${unique.replace(/[^A-Za-z0-9_]/g, '_')}`, table: 'kollect_rows' };
  },
  // An http:// (emulator) endpoint is called without credentials; a real one takes key credentials.json.
  secret: () => ({}),
  context: (spec, log = () => undefined) => ({ spec, credentials: {}, log, guard: testGuard }),
  async read(spec, inv) {
    const rows = await bigquerySql<{ target_name: string; source_uid: string; attributes: string; content_hash: string }>(
      `SELECT target_name, source_uid, TO_JSON_STRING(attributes) AS attributes, content_hash FROM \`${spec.project}.${spec.dataset ?? 'kollect'}.${spec.table ?? 'kollect_rows'}\`
       WHERE inventory_namespace = ${sqlString(inv.namespace)} AND inventory_name = ${sqlString(inv.name)} AND cluster = ${sqlString(inv.cluster)}`);
    return new Map<string, HeldRow>(rows.map((r) => [`${r.target_name}/${r.source_uid}`, { attributes: JSON.parse(r.attributes) as Record<string, unknown>, hash: r.content_hash }]));
  },
  async cleanup(spec) {
    await bigqueryAdmin().dataset(spec.dataset ?? 'kollect').delete({ force: true }).catch(() => undefined);
  },
};
