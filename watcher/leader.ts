// Leader election for the watcher (docs/decisions/0019-watcher-high-availability.md): replicas
// compete for one coordination.k8s.io/v1 Lease; only the holder runs the watcher (informers and
// signals), the others stand by. It follows client-go's leaderelection package: the holder renews
// every retry period; a candidate takes the Lease only after it has seen the same record, unchanged,
// for leaseDurationSeconds by its own clock (so clock skew between nodes does not matter); every
// write is an update carrying the resourceVersion it read (two candidates never both win);
// acquireTime and leaseTransitions change only when the holder changes. A leader that has not
// renewed for renewDeadline (< leaseDuration) stops its watcher at once, before any other replica
// can have taken the Lease. A graceful stop releases the Lease (holder empty, duration 1 s) so a
// standby takes over within one retry period.
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import * as k8s from '@kubernetes/client-node';
import { Gauge, type Registry } from 'prom-client';
import { METRICS, metricDef } from '../api/metrics-catalog.js';
import type { Log } from '../worker/log.js';
import { parseDuration } from '../api/duration.js';

export interface LeaderElectionConfig {
  /** KOLLECT_LEADER_ELECTION: false runs the watcher unconditionally (one replica, development). */
  enabled: boolean;
  /** Name of the Lease (KOLLECT_LEADER_LEASE_NAME). */
  leaseName: string;
  /** Namespace of the Lease: the operator's own (KOLLECT_LEADER_LEASE_NAMESPACE, else POD_NAMESPACE). */
  namespace: string;
  /** This replica's holderIdentity: pod name (POD_NAME, else the hostname) and a random suffix. */
  identity: string;
  /** How long a standby waits on an unchanged Lease before taking it (KOLLECT_LEADER_LEASE_DURATION). */
  leaseDurationMs: number;
  /** A leader that could not renew for this long stops leading (KOLLECT_LEADER_RENEW_DEADLINE). */
  renewDeadlineMs: number;
  /** Pause between attempts to acquire or renew (KOLLECT_LEADER_RETRY_PERIOD). */
  retryPeriodMs: number;
}

export const DEFAULT_LEASE_NAME = 'kollect-watcher';

/** client-go's default identity shape: host name, an underscore, a random suffix (a restarted pod is a new candidate). */
export function defaultIdentity(env: NodeJS.ProcessEnv = process.env): string {
  return `${env.POD_NAME || hostname()}_${randomBytes(4).toString('hex')}`;
}

const SA_NAMESPACE_FILE = '/var/run/secrets/kubernetes.io/serviceaccount/namespace';

/**
 * KOLLECT_LEADER_ELECTION (default false: one process; the Helm chart sets true),
 * KOLLECT_LEADER_LEASE_NAME, KOLLECT_LEADER_LEASE_NAMESPACE (else POD_NAMESPACE, else the pod's
 * service account namespace), KOLLECT_LEADER_LEASE_DURATION (15s), KOLLECT_LEADER_RENEW_DEADLINE
 * (10s), KOLLECT_LEADER_RETRY_PERIOD (2s), POD_NAME (identity). Errors name the variable.
 */
export function leaderElectionFromEnv(env: NodeJS.ProcessEnv, saNamespaceFile = SA_NAMESPACE_FILE): LeaderElectionConfig {
  const text = env.KOLLECT_LEADER_ELECTION ?? '';
  if (!['', 'true', 'false'].includes(text)) throw new TypeError(`KOLLECT_LEADER_ELECTION must be true or false, got "${text}"`);
  const enabled = text === 'true';
  const duration = (name: string, fallback: string): number => {
    const v = env[name] || fallback;
    let ms: number;
    try { ms = parseDuration(v, name); } catch (err) { throw new TypeError((err as Error).message, { cause: err }); }
    if (ms < 100) throw new TypeError(`${name} must be at least 100ms, got "${v}"`);
    return ms;
  };
  const leaseDurationMs = duration('KOLLECT_LEADER_LEASE_DURATION', '15s');
  const renewDeadlineMs = duration('KOLLECT_LEADER_RENEW_DEADLINE', '10s');
  const retryPeriodMs = duration('KOLLECT_LEADER_RETRY_PERIOD', '2s');
  if (leaseDurationMs < 1000 || leaseDurationMs % 1000 !== 0) throw new TypeError(`KOLLECT_LEADER_LEASE_DURATION must be whole seconds (the Lease stores leaseDurationSeconds), got "${env.KOLLECT_LEADER_LEASE_DURATION}"`);
  if (renewDeadlineMs >= leaseDurationMs) throw new TypeError(`KOLLECT_LEADER_RENEW_DEADLINE (${renewDeadlineMs} ms) must be shorter than KOLLECT_LEADER_LEASE_DURATION (${leaseDurationMs} ms): a leader must stop before a standby may take over`);
  if (renewDeadlineMs <= retryPeriodMs * 1.2) throw new TypeError(`KOLLECT_LEADER_RENEW_DEADLINE (${renewDeadlineMs} ms) must exceed 1.2 × KOLLECT_LEADER_RETRY_PERIOD (${retryPeriodMs} ms): a leader needs more than one attempt to renew`);
  const leaseName = env.KOLLECT_LEADER_LEASE_NAME || DEFAULT_LEASE_NAME;
  if (!/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(leaseName) || leaseName.length > 253) throw new TypeError(`KOLLECT_LEADER_LEASE_NAME must be a DNS subdomain name, got "${leaseName}"`);
  let namespace = env.KOLLECT_LEADER_LEASE_NAMESPACE || env.POD_NAMESPACE || '';
  if (!namespace) { try { namespace = readFileSync(saNamespaceFile, 'utf8').trim(); } catch { /* not in a pod */ } }
  if (enabled && !namespace) throw new TypeError('KOLLECT_LEADER_LEASE_NAMESPACE (or POD_NAMESPACE) is required with KOLLECT_LEADER_ELECTION=true outside a pod: the namespace of the watcher Lease, normally the operator\'s own');
  if (namespace && !/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(namespace)) throw new TypeError(`KOLLECT_LEADER_LEASE_NAMESPACE (or POD_NAMESPACE) must be a namespace name, got "${namespace}"`);
  return { enabled, leaseName, namespace, identity: defaultIdentity(env), leaseDurationMs, renewDeadlineMs, retryPeriodMs };
}

/** Something that runs only while this replica leads (the watcher). */
export interface Led { stop(): void; closed(): Promise<void> }

export interface LeaderElected<T extends Led> {
  /** The running instance while leading, else undefined. */
  current(): T | undefined;
  isLeader(): boolean;
  /** The holder this replica last saw (its own identity while leading; '' when none). */
  holder(): string;
  /** Stops the instance (if any), then releases the Lease if held, and stops competing. */
  stop(): Promise<void>;
}

interface Record_ { holderIdentity: string; leaseDurationSeconds: number; acquireTime?: Date; renewTime?: Date; leaseTransitions: number }

const code = (err: unknown): number | undefined => (err as { code?: number }).code;
const errMsg = (e: unknown): string => (e instanceof Error ? e.message : String(e));

/**
 * Competes for the Lease and runs `start()` while holding it. Losing it (a renewal missed for
 * renewDeadline) stops the instance synchronously, then waits for it to wind down; winning it again
 * starts a fresh one. `registry` gets the gauge kollect_leader (1 leading, 0 standby).
 */
export function leaderElected<T extends Led>(opts: {
  kc: k8s.KubeConfig; config: LeaderElectionConfig; log: Log; registry?: Registry; start: () => Promise<T>;
}): LeaderElected<T> {
  const { config: c, log } = opts;
  const api = opts.kc.makeApiClient(k8s.CoordinationV1Api);
  const gauge = opts.registry ? new Gauge({ ...metricDef(METRICS.leader), registers: [opts.registry] }) : undefined;
  const leaseLabel = `${c.namespace}/${c.leaseName}`;
  gauge?.set({ lease: leaseLabel }, 0);

  let leading = false;
  let stopped = false;
  let instance: T | undefined;
  /** Start/stop of the instance, one after the other. */
  let transitions: Promise<void> = Promise.resolve();
  /** The record last seen and when (monotonic ms) it was seen to change. */
  let observed: { raw: string; record: Record_; at: number } | undefined;
  let lease: k8s.V1Lease | undefined;
  let deadline: NodeJS.Timeout | undefined;
  let loop: NodeJS.Timeout | undefined;
  let attempt: Promise<void> = Promise.resolve();
  let lastError = '';

  const startLeading = (): void => {
    leading = true;
    gauge?.set({ lease: leaseLabel }, 1);
    log('leader_acquired', { lease: leaseLabel, identity: c.identity, transitions: observed?.record.leaseTransitions });
    transitions = transitions.then(async () => {
      if (!leading || stopped) return;
      const started = await opts.start().catch((err: unknown) => { log('leader_start_failed', { error: errMsg(err) }); return undefined; });
      if (!started) return;
      if (leading && !stopped) { instance = started; return; }
      started.stop();
      await started.closed();
    });
  };

  const stopLeading = (why: string): Promise<void> => {
    if (leading) {
      leading = false;
      gauge?.set({ lease: leaseLabel }, 0);
      log('leader_lost', { lease: leaseLabel, identity: c.identity, reason: why });
    }
    clearTimeout(deadline);
    // At once, not after the queue: nothing may be signalled once another replica could lead.
    const inst = instance;
    instance = undefined;
    inst?.stop();
    transitions = transitions.then(() => inst?.closed());
    return transitions;
  };

  /** Renewed (or acquired) now: the leader must renew again before renewDeadline from the attempt's start. */
  const armDeadline = (attemptStart: number): void => {
    clearTimeout(deadline);
    const left = c.renewDeadlineMs - (performance.now() - attemptStart);
    deadline = setTimeout(() => { void stopLeading(`not renewed for ${c.renewDeadlineMs} ms (last error: ${lastError || 'none'})`); }, Math.max(0, left));
  };

  const spec = (r: Record_): k8s.V1LeaseSpec => ({
    holderIdentity: r.holderIdentity, leaseDurationSeconds: r.leaseDurationSeconds, leaseTransitions: r.leaseTransitions,
    ...(r.acquireTime ? { acquireTime: new k8s.V1MicroTime(r.acquireTime.getTime()) } : {}),
    ...(r.renewTime ? { renewTime: new k8s.V1MicroTime(r.renewTime.getTime()) } : {}),
  });
  const recordOf = (l: k8s.V1Lease): Record_ => ({
    holderIdentity: l.spec?.holderIdentity ?? '',
    leaseDurationSeconds: l.spec?.leaseDurationSeconds ?? 0,
    leaseTransitions: l.spec?.leaseTransitions ?? 0,
    ...(l.spec?.acquireTime ? { acquireTime: new Date(l.spec.acquireTime) } : {}),
    ...(l.spec?.renewTime ? { renewTime: new Date(l.spec.renewTime) } : {}),
  });

  /** One round of client-go's tryAcquireOrRenew: true when this replica holds the Lease after it. */
  const tryAcquireOrRenew = async (): Promise<boolean> => {
    const now = new Date();
    const durationS = Math.max(1, Math.round(c.leaseDurationMs / 1000));
    let current: k8s.V1Lease;
    try {
      current = await api.readNamespacedLease({ name: c.leaseName, namespace: c.namespace });
    } catch (err) {
      if (code(err) !== 404) throw err;
      const record: Record_ = { holderIdentity: c.identity, leaseDurationSeconds: durationS, acquireTime: now, renewTime: now, leaseTransitions: 0 };
      try {
        lease = await api.createNamespacedLease({ namespace: c.namespace, body: { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: c.leaseName, namespace: c.namespace }, spec: spec(record) } });
      } catch (e) {
        if (code(e) === 409) return false; // another candidate created it first
        throw e;
      }
      observed = { raw: JSON.stringify(spec(record)), record, at: performance.now() };
      return true;
    }
    lease = current;
    const record = recordOf(current);
    const raw = JSON.stringify(current.spec ?? {});
    if (observed?.raw !== raw) observed = { raw, record, at: performance.now() };
    const valid = observed.at + record.leaseDurationSeconds * 1000 > performance.now();
    const mine = record.holderIdentity === c.identity;
    if (record.holderIdentity && valid && !mine) return false;
    const next: Record_ = {
      holderIdentity: c.identity, leaseDurationSeconds: durationS, renewTime: now,
      acquireTime: mine ? record.acquireTime ?? now : now,
      leaseTransitions: mine ? record.leaseTransitions : record.leaseTransitions + 1,
    };
    try {
      // replace carries metadata.resourceVersion: a concurrent write makes this 409, never a second holder.
      lease = await api.replaceNamespacedLease({ name: c.leaseName, namespace: c.namespace, body: { ...current, spec: spec(next) } });
    } catch (e) {
      if (code(e) === 409) return false;
      throw e;
    }
    observed = { raw: JSON.stringify(lease.spec ?? {}), record: next, at: performance.now() };
    return true;
  };

  const round = async (): Promise<void> => {
    const started = performance.now();
    let held = false;
    try {
      held = await tryAcquireOrRenew();
      if (lastError) log('leader_election_recovered', { lease: leaseLabel });
      lastError = '';
    } catch (err) {
      const msg = errMsg(err);
      if (msg !== lastError) log('leader_election_error', { lease: leaseLabel, error: msg, hint: code(err) === 403 ? `grant get, create and update on leases in namespace ${c.namespace} (deploy/rbac)` : undefined });
      lastError = msg;
    }
    if (stopped) return;
    if (held) {
      armDeadline(started);
      if (!leading) startLeading();
    } else if (leading && observed && observed.record.holderIdentity !== c.identity) {
      void stopLeading(`the Lease is held by ${observed.record.holderIdentity}`);
    }
    // Failed renewals are retried every period; the deadline timer ends leadership if none succeeds.
  };

  const schedule = (): void => {
    if (stopped) return;
    // client-go's JitterUntil: up to 20 % later, so candidates do not write in lockstep.
    const wait = c.retryPeriodMs * (1 + (leading ? 0 : Math.random() * 0.2));
    loop = setTimeout(() => { attempt = round().finally(schedule); }, wait);
  };

  log('leader_election_started', { lease: leaseLabel, identity: c.identity, leaseDurationMs: c.leaseDurationMs, renewDeadlineMs: c.renewDeadlineMs, retryPeriodMs: c.retryPeriodMs });
  attempt = round().finally(schedule);

  return {
    current: () => instance,
    isLeader: () => leading,
    holder: () => observed?.record.holderIdentity ?? '',
    async stop() {
      stopped = true;
      clearTimeout(loop);
      await attempt.catch(() => undefined);
      const wasLeading = leading;
      await stopLeading('stopping');
      if (!wasLeading || !lease) return;
      // Release, as client-go does with ReleaseOnCancel: no holder, 1 s duration, transitions kept.
      const now = new Date();
      try {
        await api.replaceNamespacedLease({ name: c.leaseName, namespace: c.namespace, body: { ...lease, spec: spec({ holderIdentity: '', leaseDurationSeconds: 1, acquireTime: now, renewTime: now, leaseTransitions: observed?.record.leaseTransitions ?? 0 }) } });
        log('leader_released', { lease: leaseLabel, identity: c.identity });
      } catch (err) {
        log('leader_release_failed', { lease: leaseLabel, error: errMsg(err) });
      }
    },
  };
}
