// Reads an object-store snapshot back as a reader would: the manifest first, then each row object
// it names (shared by the s3 and gcs fixtures).
import YAML from 'yaml';
import type { InventoryIdentity, SinkContext } from '../../../activities/sinks/types.js';
import { MANIFEST, inParallel, parseManifest, resolvePrefix, type ObjectStoreDriver, type ObjectStoreSpec } from '../../../activities/sinks/object-store.js';
import type { HeldRow } from './fixture.js';

export async function readSnapshot<Spec extends ObjectStoreSpec>(driver: ObjectStoreDriver<Spec>, ctx: SinkContext<Spec>, inventory: InventoryIdentity): Promise<Map<string, HeldRow>> {
  try { return await read(driver, ctx, inventory); } finally { await driver.close(); }
}

async function read<Spec extends ObjectStoreSpec>(driver: ObjectStoreDriver<Spec>, ctx: SinkContext<Spec>, inventory: InventoryIdentity): Promise<Map<string, HeldRow>> {
  const store = driver.open(ctx);
  const prefix = resolvePrefix(driver.type, ctx.spec.pathTemplate, inventory);
  const manifest = parseManifest((await store.get(`${prefix}/${MANIFEST}`))?.body);
  const out = new Map<string, HeldRow>();
  if (!manifest) return out;
  await inParallel(Object.keys(manifest.rows), async (key) => {
    const obj = await store.get(`${prefix}/rows/${key}`);
    if (!obj) throw new Error(`manifest names ${key}, which is missing`);
    const doc = YAML.parse(obj.body.toString('utf8')) as { target: string; uid: string; attributes: Record<string, unknown> }; // JSON is YAML
    out.set(`${doc.target}/${doc.uid}`, { attributes: doc.attributes });
  }, 32);
  return out;
}
