// One sink type, defined once: its family, its backend, the formats it writes, how it previews
// where an inventory's rows go, its sample and its docs page. The registry (registry.ts) lists the
// descriptors; the CRD generator, the operator, the connection test, the samples test and the
// docs derive everything else from that list.
import type { SerializationFormat, SinkKind } from '../../api/types.js';
import type { VersionedRow } from '../../api/rows.js';
import { SinkConfigError, type InventoryIdentity, type SinkBackend } from './types.js';

/** Where a sink writes an inventory's rows, as status.preview shows it. Never holds a credential. */
export interface SinkLocation {
  /** What the sink connects to: URL without userinfo, bucket, project. The Endpoint printer column. */
  endpoint: string;
  /** Where this inventory's rows land: the resolved path, object key, table, topic or subject. */
  location: string;
}

export interface SinkDescriptor<Spec = unknown> {
  /** spec.type value and the name of the spec block (spec.<type>). */
  readonly type: string;
  readonly kind: SinkKind;
  readonly backend: SinkBackend<Spec>;
  /** spec.format values this type writes, the first being its default; empty when format does not apply. */
  readonly formats: readonly SerializationFormat[];
  /** Where an inventory's rows go with this spec. Pure: no I/O, no credentials. Throws SinkConfigError on a bad spec. */
  locate(spec: Spec, inventory: InventoryIdentity, format?: SerializationFormat): SinkLocation;
  /** One row as this sink would write it (status.preview.sample): a file body, a document, a message. */
  render(row: VersionedRow, spec: Spec, format?: SerializationFormat): string;
  /** The sample under deploy/samples (file name) that configures this type; tests apply it. */
  readonly sample: string;
  /** The type's page under docs/sinks/ (file name). */
  readonly docs: string;
}

/** The format a sink of this type writes: spec.format when it applies, else the type's default. */
export function formatOf(d: Pick<SinkDescriptor, 'type' | 'formats'>, format: string | undefined): SerializationFormat | undefined {
  if (d.formats.length === 0) {
    if (format !== undefined) throw new SinkConfigError('spec.format', `sink type ${d.type} has no format: remove spec.format`);
    return undefined;
  }
  if (format === undefined) return d.formats[0];
  if (!(d.formats as readonly string[]).includes(format)) {
    throw new SinkConfigError('spec.format', `sink type ${d.type} writes ${d.formats.join(' or ')}, not ${format}`);
  }
  return format as SerializationFormat;
}
