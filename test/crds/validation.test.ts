// One rejection per validation rule: the real apiserver refuses the bad input at `kubectl create`
// time, with an error that names the field. Plus the inputs near each rule that must pass.
import { describe, it, expect, beforeAll } from 'vitest';
import { stringify } from 'yaml';
import { kubectl, installCrds, freshNamespace } from './kubectl.js';

type Spec = Record<string, unknown>;
const profile: Spec = { apiVersion: 'v1', kind: 'ConfigMap', attributes: [{ name: 'objname', jsonPath: '{.metadata.name}' }] };
const target: Spec = { profileRef: { name: 'p' } };
const inventory: Spec = { targetRefs: [{ name: 't' }] };
const git: Spec = { type: 'git', git: { url: 'https://git.example.com/inventory.git' } };
const postgres: Spec = { type: 'postgres', postgres: { url: 'postgres://kollect@db.example.com:5432/kollect' } };
const nats: Spec = { type: 'nats', nats: { url: 'nats://nats.example.com:4222' } };

const KIND = { profile: 'KollectProfile', target: 'KollectTarget', inventory: 'KollectInventory', snapshot: 'KollectSnapshotSink', database: 'KollectDatabaseSink', event: 'KollectEventSink', connectiontest: 'KollectConnectionTest',
  scope: 'KollectScope', clustertarget: 'KollectClusterTarget', clusterinventory: 'KollectClusterInventory' } as const;
type Case = [rule: string, kind: keyof typeof KIND, spec: Spec, error: RegExp];

const rejected: Case[] = [
  // KollectProfile
  ['attribute with both cel and jsonPath', 'profile', { ...profile, attributes: [{ name: 'a', cel: 'object.x', jsonPath: '{.x}' }] }, /spec\.attributes\[0\]: Invalid value: .*exactly one of cel or jsonPath must be set/],
  ['attribute with neither cel nor jsonPath', 'profile', { ...profile, attributes: [{ name: 'a' }] }, /spec\.attributes\[0\]: Invalid value: .*exactly one of cel or jsonPath must be set/],
  ['no attributes in mode Attributes', 'profile', { apiVersion: 'v1', kind: 'ConfigMap' }, /spec\.attributes: Required value: spec\.attributes must list at least one attribute unless spec\.export\.mode is Resource/],
  ['empty attributes with explicit mode Attributes', 'profile', { apiVersion: 'v1', kind: 'ConfigMap', attributes: [], export: { mode: 'Attributes' } }, /spec\.attributes: Required value/],
  ['duplicate attribute names', 'profile', { ...profile, attributes: [{ name: 'a', cel: '1' }, { name: 'a', cel: '2' }] }, /spec\.attributes\[1\]: Duplicate value: .*"name":"a"/],
  ['attribute name that is no identifier', 'profile', { ...profile, attributes: [{ name: 'my-attr', cel: '1' }] }, /spec\.attributes\[0\]\.name: Invalid value: "my-attr"/],
  ['unknown export.mode', 'profile', { ...profile, export: { mode: 'Whole' } }, /spec\.export\.mode: Unsupported value: "Whole": supported values: "Attributes", "Resource"/],
  ['watched kind not in CamelCase', 'profile', { ...profile, kind: 'configmap' }, /spec\.kind: Invalid value: "configmap"/],
  ['malformed watched apiVersion', 'profile', { ...profile, apiVersion: 'apps/v1/x' }, /spec\.apiVersion: Invalid value: "apps\/v1\/x"/],
  ['prune pointer that is no RFC 6901 pointer', 'profile', { apiVersion: 'v1', kind: 'ConfigMap', export: { mode: 'Resource', prune: { jsonPointers: ['metadata.uid'] } } }, /spec\.export\.prune\.jsonPointers\[0\]: Invalid value: "metadata\.uid"/],
  ['unknown field (typo)', 'profile', { ...profile, atributes: [] }, /unknown field "spec\.atributes"/],
  ['custom metric name without the kollect_custom_ prefix', 'profile', { ...profile, metrics: [{ name: 'widgets_total' }] }, /spec\.metrics\[0\]\.name: Invalid value: "widgets_total"/],
  ['custom metric value with two sources', 'profile', { ...profile, metrics: [{ name: 'kollect_custom_x', value: { cel: '1', attribute: 'objname' } }] }, /spec\.metrics\[0\]\.value: Invalid value: .*at most one of cel, jsonPath, attribute/],
  ['custom metric label that is no Prometheus label name', 'profile', { ...profile, metrics: [{ name: 'kollect_custom_x', labels: [{ name: 'my-label', attribute: 'objname' }] }] }, /spec\.metrics\[0\]\.labels\[0\]\.name: Invalid value: "my-label"/],
  ['custom metric with nine labels', 'profile', { ...profile, metrics: [{ name: 'kollect_custom_x', labels: Array.from({ length: 9 }, (_, i) => ({ name: `l${i}`, attribute: 'objname' })) }] }, /spec\.metrics\[0\]\.labels: Too many: 9: must have at most 8 items/],
  // KollectTarget
  ['target without profileRef', 'target', { namespaces: ['a'] }, /spec\.profileRef: Required value/],
  ['namespace that is no DNS label', 'target', { ...target, namespaces: ['Team_A'] }, /spec\.namespaces\[0\]: Invalid value: "Team_A"/],
  ['In without values', 'target', { ...target, labelSelector: { matchExpressions: [{ key: 'app', operator: 'In' }] } }, /spec\.labelSelector\.matchExpressions\[0\]\.values: Invalid value: .*values must be non-empty for In and NotIn/],
  ['Exists with values', 'target', { ...target, labelSelector: { matchExpressions: [{ key: 'app', operator: 'Exists', values: ['x'] }] } }, /spec\.labelSelector\.matchExpressions\[0\]\.values: Invalid value: .*empty for Exists and DoesNotExist/],
  ['unknown selector operator', 'target', { ...target, labelSelector: { matchExpressions: [{ key: 'app', operator: 'Like', values: ['x'] }] } }, /spec\.labelSelector\.matchExpressions\[0\]\.operator: Unsupported value: "Like"/],
  // KollectInventory
  ['exportMinInterval that is no Go duration', 'inventory', { ...inventory, exportMinInterval: '30 seconds' }, /spec\.exportMinInterval: Invalid value: "30 seconds"/],
  ['per-sink exportMinInterval in days', 'inventory', { ...inventory, snapshotSinkRefs: [{ name: 'g', exportMinInterval: '1d' }] }, /spec\.snapshotSinkRefs\[0\]\.exportMinInterval: Invalid value: "1d"/],
  ['no targets', 'inventory', { targetRefs: [] }, /spec\.targetRefs: Invalid value: 0: .*at least 1 items/],
  ['duplicate target refs', 'inventory', { targetRefs: [{ name: 't' }, { name: 't' }] }, /spec\.targetRefs\[1\]: Duplicate value/],
  ['duplicate sink refs in one list', 'inventory', { ...inventory, databaseSinkRefs: [{ name: 'pg' }, { name: 'pg', exportMinInterval: '1m' }] }, /spec\.databaseSinkRefs\[1\]: Duplicate value: .*"name":"pg"/],
  ['maxExportBytes 0', 'inventory', { ...inventory, maxExportBytes: 0 }, /spec\.maxExportBytes: Invalid value: 0: .*greater than or equal to 1/],
  ['cluster name that is no DNS label', 'inventory', { ...inventory, cluster: 'Prod_EU' }, /spec\.cluster: Invalid value: "Prod_EU"/],
  // spec.type enums
  ['unknown snapshot sink type', 'snapshot', { type: 'ftp' }, /spec\.type: Unsupported value: "ftp": supported values: "git", "gitlab", "s3", "gcs"/],
  ['unknown database sink type', 'database', { type: 'mysql' }, /spec\.type: Unsupported value: "mysql": supported values: "postgres", "mongodb", "bigquery"/],
  ['unknown event sink type', 'event', { type: 'rabbitmq' }, /spec\.type: Unsupported value: "rabbitmq": supported values: "kafka", "nats"/],
  // the type's block
  ['type git without spec.git', 'snapshot', { type: 'git' }, /spec\.git: Required value: spec\.git is required when spec\.type is git/],
  ['type postgres without spec.postgres', 'database', { type: 'postgres' }, /spec\.postgres: Required value: spec\.postgres is required when spec\.type is postgres/],
  ['type nats without spec.nats', 'event', { type: 'nats' }, /spec\.nats: Required value: spec\.nats is required when spec\.type is nats/],
  ['spec.git under type s3', 'snapshot', { ...git, type: 's3' }, /spec\.git: Forbidden: spec\.git is only allowed when spec\.type is git/],
  ['spec.nats under type kafka', 'event', { ...nats, type: 'kafka' }, /spec\.nats: Forbidden: spec\.nats is only allowed when spec\.type is nats/],
  // URLs
  ['git url over http', 'snapshot', { ...git, git: { url: 'http://git.example.com/inventory.git' } }, /spec\.git\.url: Forbidden: must be an https:\/\/ URL/],
  ['git url with a password', 'snapshot', { ...git, git: { url: 'https://kollect:hunter2@git.example.com/inventory.git' } }, /spec\.git\.url: Forbidden: must not contain a password/],
  ['postgres url with a password', 'database', { ...postgres, postgres: { url: 'postgres://kollect:hunter2@db:5432/kollect' } }, /spec\.postgres\.url: Forbidden: must not contain a password: put it in the Secret named by spec\.secretRef \(key password\)/],
  ['postgres url of another scheme', 'database', { ...postgres, postgres: { url: 'mysql://db:3306/kollect' } }, /spec\.postgres\.url: Forbidden: must be a postgres:\/\/ or postgresql:\/\/ URL/],
  ['nats url of another scheme', 'event', { ...nats, nats: { url: 'http://nats:4222' } }, /spec\.nats\.url: Forbidden: must be a nats:\/\/ or tls:\/\/ URL/],
  ['nats url with a password', 'event', { ...nats, nats: { url: 'nats://kollect:hunter2@nats:4222' } }, /spec\.nats\.url: Forbidden: must not contain a password/],
  // tenancy (docs/tenancy.md)
  ['cluster inventory sink ref without a namespace or spec.sinkNamespace', 'clusterinventory', { ...inventory, databaseSinkRefs: [{ name: 'pg', namespace: 'ops' }, { name: 'pg2' }] }, /every sink ref needs a namespace unless spec\.sinkNamespace is set/],
  ['cluster target profileRef without a namespace', 'clustertarget', { profileRef: { name: 'p' } }, /spec\.profileRef\.namespace: Required value/],
  ['scope namespace that is neither a name nor *', 'scope', { namespaces: ['team_a'] }, /spec\.namespaces\[0\]: Invalid value: "team_a"/],
  ['scope kind pattern with a version in its group', 'scope', { kinds: [{ group: 'apps/v1' }] }, /spec\.kinds\[0\]\.group: Invalid value: "apps\/v1"/],
  // other enums and identifiers
  ['unknown sslMode', 'database', { ...postgres, postgres: { url: 'postgres://db/k', sslMode: 'prefer' } }, /spec\.postgres\.sslMode: Unsupported value: "prefer": supported values: "disable", "require", "verify-full"/],
  ['unknown format', 'snapshot', { ...git, format: 'xml' }, /spec\.format: Unsupported value: "xml": supported values: "yaml", "json", "parquet"/],
  ['a format the type does not write', 'snapshot', { ...git, format: 'parquet' }, /spec\.format: Invalid value: sink type git writes yaml or json/],
  ['a connection test of no sink kind', 'connectiontest', { sinkRef: { kind: 'KollectSink', name: 'x' } }, /spec\.sinkRef\.kind: Unsupported value: "KollectSink"/],
  ['table name that is no SQL identifier', 'database', { ...postgres, postgres: { url: 'postgres://db/k', table: 'rows; drop table x' } }, /spec\.postgres\.table: Invalid value: "rows; drop table x"/],
  ['stream name with a dot', 'event', { ...nats, nats: { url: 'nats://n:4222', stream: 'my.stream' } }, /spec\.nats\.stream: Invalid value: "my\.stream"/],
  ['maxAttempts 0', 'database', { ...postgres, maxAttempts: 0 }, /spec\.maxAttempts: Invalid value: 0/],
  ['git branch with ..', 'snapshot', { ...git, git: { url: 'https://g.example.com/r.git', branch: 'a..b' } }, /spec\.git\.branch: Invalid value: .*must be a valid git branch name/],
  ['git path escaping the repository', 'snapshot', { ...git, git: { url: 'https://g.example.com/r.git', path: 'inv/../../etc' } }, /spec\.git\.path: Invalid value: .*must be a relative path without \.\. segments/],
  ['caSecretRef without a name', 'snapshot', { ...git, tls: { caSecretRef: { key: 'ca.crt' } } }, /spec\.tls\.caSecretRef\.name: Required value/],
];

const accepted: [what: string, kind: keyof typeof KIND, spec: Spec][] = [
  ['cluster inventory sink refs defaulting to spec.sinkNamespace', 'clusterinventory', { ...inventory, sinkNamespace: 'ops', databaseSinkRefs: [{ name: 'pg' }, { name: 'pg', namespace: 'team-a' }] }],
  ['cluster inventory sink refs each with a namespace', 'clusterinventory', { ...inventory, snapshotSinkRefs: [{ name: 'git', namespace: 'ops' }] }],
  ['scope with every namespace, globs and the core group', 'scope', { namespaces: ['*'], kinds: [{ group: '', version: 'v1', kind: 'ConfigMap' }, { group: '*.example.com', kind: 'W*' }], clusterKinds: [{ group: '', kind: 'Namespace' }], sinkTypes: [] }],
  ['mode Resource without attributes', 'profile', { apiVersion: 'v1', kind: 'ConfigMap', export: { mode: 'Resource', prune: { jsonPointers: ['/metadata/annotations/example.com~1token'] } } }],
  ['custom metrics: a count, and a CEL value with a label', 'profile', { ...profile, metrics: [{ name: 'kollect_custom_cms' }, { name: 'kollect_custom_len', help: 'Name length.', type: 'gauge', value: { cel: 'size(object.metadata.name)' }, labels: [{ name: 'objname', attribute: 'objname' }] }] }],
  ['a CRD kind with a dotted group', 'profile', { apiVersion: 'example.kollect.dev/v1beta1', kind: 'Widget', attributes: [{ name: 'size', jsonPath: '{.spec.size}' }, { name: 'ok', cel: 'true' }] }],
  ['compound and fractional durations', 'inventory', { ...inventory, exportMinInterval: '1h30m', snapshotSinkRefs: [{ name: 'a', exportMinInterval: '1.5s' }], eventSinkRefs: [{ name: 'a', exportMinInterval: '250ms' }] }],
  ['the same sink name in two lists', 'inventory', { ...inventory, snapshotSinkRefs: [{ name: 'x' }], databaseSinkRefs: [{ name: 'x' }] }],
  ['a git url with a user but no password', 'snapshot', { ...git, git: { url: 'https://kollect@git.example.com/inventory.git', path: 'fleet/eu-1' } }],
  ['postgresql:// with sslMode verify-full', 'database', { ...postgres, postgres: { url: 'postgresql://kollect@db/k?application_name=kollect', sslMode: 'verify-full' } }],
  ['tls:// nats', 'event', { ...nats, nats: { url: 'tls://nats.example.com:4222', subjectPrefix: 'fleet.eu-1' } }],
];

const manifest = (kind: keyof typeof KIND, spec: Spec): string =>
  // a KollectScope must be named default (its CRD's rule)
  stringify({ apiVersion: 'kollect.dev/v1alpha1', kind: KIND[kind], metadata: { name: kind === 'scope' ? 'default' : 'sample' }, spec });

let ns = '';
beforeAll(async () => {
  await installCrds();
  ns = await freshNamespace('crds-validation');
});

describe('the apiserver refuses bad input, naming the field', () => {
  it.each(rejected)('%s', async (_rule, kind, spec, error) => {
    const r = await kubectl(['create', '--dry-run=server', '-n', ns, '-f', '-'], manifest(kind, spec));
    expect(r.code, `accepted: ${manifest(kind, spec)}`).not.toBe(0);
    expect(r.stderr).toMatch(error);
    expect(r.stderr, 'a refused URL must not be echoed with its password').not.toContain('hunter2');
  });
});

describe('the apiserver accepts what is valid near those rules', () => {
  it.each(accepted)('%s', async (_what, kind, spec) => {
    const r = await kubectl(['create', '--dry-run=server', '-n', ns, '-f', '-'], manifest(kind, spec));
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
  });
});
