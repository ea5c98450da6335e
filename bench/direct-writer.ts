// The baseline the pipeline is compared with: LIST the namespace's ConfigMaps (paged) and write the
// rows into a fresh Postgres table in ONE transaction, with unnest-array multi-row inserts like the
// Postgres sink's, and no Temporal. Each page is inserted while the next one is being fetched.
import { createHash } from 'node:crypto';
import pg from 'pg';
import type * as k8s from '@kubernetes/client-node';

export interface DirectResult { ms: number; listMs: number; rows: number; pages: number; tableBytes: number }

/** Keys sorted recursively, like the sinks' canonical form, so the hash is stable. */
function canonical(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(canonical);
  if (v !== null && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v).sort()) { const x = (v as Record<string, unknown>)[k]; if (x !== undefined) out[k] = canonical(x); }
    return out;
  }
  return v;
}

interface DirectRow { uid: string; namespace: string; name: string; attributes: string; hash: string }

/** The row of one ConfigMap as the configmaps profile exports it (export.mode Resource, pruned). */
function toRow(cm: k8s.V1ConfigMap): DirectRow {
  const obj = JSON.parse(JSON.stringify(cm)) as { metadata?: Record<string, unknown> & { annotations?: Record<string, string> } };
  obj.metadata ??= {};
  for (const k of ['managedFields', 'resourceVersion', 'generation', 'creationTimestamp']) delete obj.metadata[k];
  delete obj.metadata.annotations?.['kubectl.kubernetes.io/last-applied-configuration'];
  const attributes = JSON.stringify(canonical({ apiVersion: 'v1', kind: 'ConfigMap', ...obj }));
  const m = cm.metadata!;
  return { uid: m.uid!, namespace: m.namespace!, name: m.name!, attributes, hash: createHash('sha256').update(`${m.uid}|${attributes}`).digest('hex') };
}

export async function directWrite(core: k8s.CoreV1Api, pgUrl: string, ns: string, table: string, cluster = 'bench'): Promise<DirectResult> {
  const c = new pg.Client({ connectionString: pgUrl, application_name: 'kollect-bench-direct' });
  await c.connect();
  try {
    // The same table shape and indexes as the Postgres sink's, created before the clock starts.
    await c.query(`CREATE TABLE public.${table} (
      inventory_namespace text NOT NULL, inventory_name text NOT NULL, target_name text NOT NULL, source_uid text NOT NULL,
      cluster text NOT NULL, api_version text NOT NULL, kind text NOT NULL, namespace text NOT NULL, name text NOT NULL,
      attributes jsonb NOT NULL, content_hash text NOT NULL, snapshot_version bigint NOT NULL, exported_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (inventory_namespace, inventory_name, target_name, source_uid))`);
    await c.query(`CREATE INDEX ON public.${table} (inventory_namespace, inventory_name, cluster)`);
    await c.query(`CREATE INDEX ON public.${table} (kind, namespace, name)`);

    const t0 = Date.now();
    let listMs = 0;
    const list = async (cont?: string) => {
      const t = Date.now();
      const r = await core.listNamespacedConfigMap({ namespace: ns, limit: 500, ...(cont ? { _continue: cont } : {}) });
      listMs += Date.now() - t;
      return r;
    };
    await c.query('BEGIN');
    let rows = 0;
    let pages = 0;
    let page = list();
    for (;;) {
      const r = await page;
      const cont = r.metadata?._continue;
      if (cont) page = list(cont); // fetch the next page while this one is written
      const batch = r.items.filter((cm) => cm.metadata?.name !== 'kube-root-ca.crt').map(toRow);
      pages++;
      if (batch.length) {
        await c.query(
          `INSERT INTO public.${table} (inventory_namespace, inventory_name, target_name, source_uid, cluster, api_version, kind, namespace, name, attributes, content_hash, snapshot_version)
           SELECT $1::text, 'platform', 'configmaps', u.uid, $2::text, 'v1', 'ConfigMap', u.namespace, u.name, u.attributes, u.hash, 1
             FROM unnest($3::text[], $4::text[], $5::text[], $6::jsonb[], $7::text[]) AS u(uid, namespace, name, attributes, hash)`,
          [ns, cluster, batch.map((b) => b.uid), batch.map((b) => b.namespace), batch.map((b) => b.name), batch.map((b) => b.attributes), batch.map((b) => b.hash)]);
        rows += batch.length;
      }
      if (!cont) break;
    }
    await c.query('COMMIT');
    const ms = Date.now() - t0;
    const size = await c.query<{ b: string }>(`SELECT pg_total_relation_size('public.${table}') AS b`);
    return { ms, listMs, rows, pages, tableBytes: Number(size.rows[0]?.b ?? 0) };
  } finally {
    await c.end().catch(() => undefined);
  }
}
