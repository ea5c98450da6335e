import { describe, expect, it } from 'vitest';
import { RowIssues, issueOf, MAX_ISSUE_SAMPLES } from './row-issues.js';
import type { KubeObject } from './kube.js';

const obj = (name: string): KubeObject => ({ metadata: { name, namespace: 'shop', uid: name } });
const row = { target: 't', cluster: 'c', apiVersion: 'v1', kind: 'ConfigMap', namespace: 'shop', name: 'x', uid: 'x', attributes: {}, hash: 'h' };

describe('row issues of a Target', () => {
  it('names the object and the limit of a quarantined row, the expression of an evaluation error; nothing for a clean row', () => {
    expect(issueOf(obj('big'), { quarantined: { field: 'spec.export', limit: '1 MiB per row (KOLLECT_EXTRACT_MAX_ROW_BYTES)', detail: 'shop/big is 2000000 bytes of JSON' } }))
      .toEqual({ kind: 'quarantined', text: 'shop/big: quarantined, not exported: shop/big is 2000000 bytes of JSON; limit 1 MiB per row (KOLLECT_EXTRACT_MAX_ROW_BYTES)' });
    expect(issueOf(obj('cm'), { row, errors: [{ field: 'spec.attributes[0].cel', message: "attribute 'mode': field not found: mode" }, { field: 'spec.attributes[2].cel', message: 'x' }] }))
      .toEqual({ kind: 'errors', text: "shop/cm: spec.attributes[0].cel: attribute 'mode': field not found: mode (left out of the row); and 1 more" });
    expect(issueOf(obj('f'), { row: null, errors: [{ field: 'spec.filter', message: 'boom' }] })!.text).toBe('shop/f: spec.filter: boom (object excluded)');
    expect(issueOf(obj('ok'), { row })).toBeUndefined();
    expect(issueOf(obj('ok'), { failed: 'worker died' })).toBeUndefined();
  });

  it('counts the objects affected now (not evaluations), samples quarantined rows first, and says when it changed', () => {
    const issues = new RowIssues();
    let changes = 0;
    issues.onChange = () => { changes++; };
    for (let i = 0; i < 5; i++) issues.set(`e${i}`, { kind: 'errors', text: `e${i}` });
    issues.set('q', { kind: 'quarantined', text: 'q' });
    issues.set('q', { kind: 'quarantined', text: 'q' }); // the same again: no change
    expect(changes).toBe(6);
    expect(issues.summary()).toEqual({ quarantined: 1, extractionErrors: 5, samples: ['q', 'e0', 'e1'].slice(0, MAX_ISSUE_SAMPLES) });
    issues.set('q', undefined); // fixed
    issues.forget('e0'); // deleted
    expect(issues.summary()).toMatchObject({ quarantined: 0, extractionErrors: 4 });
    issues.clear();
    expect(issues.summary()).toBeUndefined();
    expect(changes).toBe(9);
  });
});
