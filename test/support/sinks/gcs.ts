// The gcs sink against the harness's fake-gcs-server (custom apiEndpoint, no auth).
import type { GcsSinkSpec } from '../../../api/types.js';
import { GcsDriver } from '../../../activities/sinks/gcs.js';
import { service } from '../../harness/endpoints.js';
import { readSnapshot } from './object-store.js';
import { bucketName } from './s3.js';
import { testGuard, type SinkFixture } from './fixture.js';

export const gcsFixture: SinkFixture<GcsSinkSpec> = {
  type: 'gcs',
  service: 'gcs',
  spec: (unique) => {
    const ep = service('gcs');
    return { bucket: bucketName(unique), apiEndpoint: ep.apiEndpoint, projectId: ep.projectId };
  },
  secret: () => ({}),
  context: (spec, log = () => undefined) => ({ spec, credentials: gcsFixture.secret(), guard: testGuard, log }),
  read: (spec, inventory) => readSnapshot(new GcsDriver(), gcsFixture.context(spec), inventory),
};
