// Leader election settings from the environment: defaults, and every mistake named by its variable.
import { describe, it, expect } from 'vitest';
import { leaderElectionFromEnv } from './leader.js';

const none = '/nonexistent/namespace';

describe('leaderElectionFromEnv', () => {
  it('is off by default, with client-go\'s timings and a pod-name identity', () => {
    const c = leaderElectionFromEnv({ POD_NAME: 'kollect-7d9f', POD_NAMESPACE: 'kollect-system' }, none);
    expect(c).toMatchObject({ enabled: false, leaseName: 'kollect-watcher', namespace: 'kollect-system', leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 });
    expect(c.identity).toMatch(/^kollect-7d9f_[0-9a-f]{8}$/);
    expect(leaderElectionFromEnv({ POD_NAME: 'a' }, none).identity).not.toBe(leaderElectionFromEnv({ POD_NAME: 'a' }, none).identity);
  });

  it('takes the Lease namespace from KOLLECT_LEADER_LEASE_NAMESPACE before POD_NAMESPACE, and requires one when enabled', () => {
    expect(leaderElectionFromEnv({ KOLLECT_LEADER_ELECTION: 'true', KOLLECT_LEADER_LEASE_NAMESPACE: 'ops', POD_NAMESPACE: 'x' }, none).namespace).toBe('ops');
    expect(() => leaderElectionFromEnv({ KOLLECT_LEADER_ELECTION: 'true' }, none)).toThrow(/KOLLECT_LEADER_LEASE_NAMESPACE \(or POD_NAMESPACE\) is required/);
    expect(leaderElectionFromEnv({}, none).enabled).toBe(false);
  });

  it('names the variable of a bad value', () => {
    const on = { KOLLECT_LEADER_ELECTION: 'true', POD_NAMESPACE: 'k' };
    expect(() => leaderElectionFromEnv({ KOLLECT_LEADER_ELECTION: 'yes' }, none)).toThrow(/KOLLECT_LEADER_ELECTION must be true or false/);
    expect(() => leaderElectionFromEnv({ ...on, KOLLECT_LEADER_RENEW_DEADLINE: '15s' }, none)).toThrow(/KOLLECT_LEADER_RENEW_DEADLINE .* must be shorter than KOLLECT_LEADER_LEASE_DURATION/);
    expect(() => leaderElectionFromEnv({ ...on, KOLLECT_LEADER_RETRY_PERIOD: '9s' }, none)).toThrow(/must exceed 1.2 × KOLLECT_LEADER_RETRY_PERIOD/);
    expect(() => leaderElectionFromEnv({ ...on, KOLLECT_LEADER_LEASE_DURATION: '15500ms' }, none)).toThrow(/KOLLECT_LEADER_LEASE_DURATION must be whole seconds/);
    expect(() => leaderElectionFromEnv({ ...on, KOLLECT_LEADER_LEASE_DURATION: 'soon' }, none)).toThrow(/KOLLECT_LEADER_LEASE_DURATION: "soon" is not a duration/);
    expect(() => leaderElectionFromEnv({ ...on, KOLLECT_LEADER_LEASE_NAME: 'Kollect' }, none)).toThrow(/KOLLECT_LEADER_LEASE_NAME must be a DNS subdomain name/);
  });
});
