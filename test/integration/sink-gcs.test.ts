// The gcs sink against the harness's fake-gcs-server (KOLLECT_SERVICES=gcs).
import { GcsDriver } from '../../activities/sinks/gcs.js';
import { objectStoreSuite } from '../support/sinks/object-store-suite.js';
import { gcsFixture } from '../support/sinks/gcs.js';

objectStoreSuite(gcsFixture, () => new GcsDriver());
