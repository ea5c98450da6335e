// The s3 sink against the harness's versitygw (path-style, static root keys).
import type { S3SinkSpec } from '../../../api/types.js';
import { S3Driver } from '../../../activities/sinks/s3.js';
import { service } from '../../harness/endpoints.js';
import { readSnapshot } from './object-store.js';
import { testGuard, type SinkFixture } from './fixture.js';

/** A bucket name from any string: lower case, [a-z0-9-], at most 63. */
export const bucketName = (unique: string): string => `kt-${unique.toLowerCase().replace(/[^a-z0-9-]/g, '-')}`.slice(0, 63).replace(/-+$/, '');

export const s3Fixture: SinkFixture<S3SinkSpec> = {
  type: 's3',
  service: 's3',
  spec: (unique) => {
    const ep = service('s3');
    return { bucket: bucketName(unique), endpoint: ep.endpoint, region: ep.region, forcePathStyle: true };
  },
  secret: () => {
    const ep = service('s3');
    return { accessKeyId: ep.accessKeyId, secretAccessKey: ep.secretAccessKey };
  },
  context: (spec, log = () => undefined) => ({ spec, credentials: s3Fixture.secret(), guard: testGuard, log }),
  read: (spec, inventory) => readSnapshot(new S3Driver(), s3Fixture.context(spec), inventory),
};
