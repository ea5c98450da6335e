// The s3 sink against the harness's versitygw (KOLLECT_SERVICES=s3).
import { S3Driver } from '../../activities/sinks/s3.js';
import { objectStoreSuite } from '../support/sinks/object-store-suite.js';
import { s3Fixture } from '../support/sinks/s3.js';

objectStoreSuite(s3Fixture, () => new S3Driver());
