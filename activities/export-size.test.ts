import { describe, expect, it } from 'vitest';
import { exportLimit } from './export-size.js';

describe('export size limit', () => {
  it('is the lower of spec.maxExportBytes and the operator cap, naming which applies', () => {
    expect(exportLimit(undefined, undefined)).toBeUndefined();
    expect(exportLimit(1000, undefined)).toEqual({ bytes: 1000, source: "the inventory's spec.maxExportBytes" });
    expect(exportLimit(undefined, 5000)).toEqual({ bytes: 5000, source: "the operator's KOLLECT_MAX_EXPORT_BYTES" });
    expect(exportLimit(1000, 5000)).toEqual({ bytes: 1000, source: "the inventory's spec.maxExportBytes" });
    expect(exportLimit(9000, 5000)).toEqual({ bytes: 5000, source: "the operator's KOLLECT_MAX_EXPORT_BYTES (which caps the inventory's spec.maxExportBytes 9000)" });
  });
});
