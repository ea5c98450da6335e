// Realistic Kubernetes objects, shaped as the apiserver returns them (JSON, with managedFields
// and the kubectl last-applied annotation), for the extraction tests and the CEL/JSONPath
// benchmarks. Builders return fresh copies so a test may mutate its object freely.

export const deployment = (): Record<string, unknown> => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: {
    name: 'web-frontend',
    namespace: 'shop',
    uid: '5f1c2b8e-7a41-4a0e-9c1d-0b6f2f7c9a10',
    resourceVersion: '918273',
    generation: 7,
    creationTimestamp: '2024-03-05T10:15:30Z',
    labels: { 'app.kubernetes.io/name': 'web', 'app.kubernetes.io/part-of': 'shop', tier: 'frontend' },
    annotations: {
      'deployment.kubernetes.io/revision': '7',
      'kubectl.kubernetes.io/last-applied-configuration': '{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web-frontend"}}\n',
    },
    managedFields: [
      { manager: 'kubectl-client-side-apply', operation: 'Update', apiVersion: 'apps/v1', time: '2024-03-05T10:15:30Z', fieldsType: 'FieldsV1', fieldsV1: { 'f:spec': { 'f:replicas': {} } } },
      { manager: 'kube-controller-manager', operation: 'Update', apiVersion: 'apps/v1', time: '2024-03-05T10:16:02Z', fieldsType: 'FieldsV1', subresource: 'status', fieldsV1: { 'f:status': {} } },
    ],
  },
  spec: {
    replicas: 3,
    revisionHistoryLimit: 10,
    progressDeadlineSeconds: 600,
    selector: { matchLabels: { 'app.kubernetes.io/name': 'web' } },
    strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: '25%' } },
    template: {
      metadata: { labels: { 'app.kubernetes.io/name': 'web', tier: 'frontend' } },
      spec: {
        serviceAccountName: 'web',
        containers: [
          {
            name: 'app',
            image: 'registry.example.com/shop/web:1.42.0',
            ports: [{ name: 'http', containerPort: 8080, protocol: 'TCP' }],
            env: [{ name: 'LOG_LEVEL', value: 'info' }, { name: 'API_TOKEN', valueFrom: { secretKeyRef: { name: 'web', key: 'token' } } }],
            resources: { requests: { cpu: '250m', memory: '256Mi' }, limits: { cpu: '1', memory: '512Mi' } },
            securityContext: { runAsNonRoot: true, readOnlyRootFilesystem: true },
            readinessProbe: { httpGet: { path: '/healthz', port: 8080 }, periodSeconds: 10 },
          },
          {
            name: 'sidecar',
            image: 'envoyproxy/envoy:latest',
            ports: [{ name: 'admin', containerPort: 9901, protocol: 'TCP' }],
            resources: { requests: { cpu: '50m', memory: '64Mi' } },
          },
        ],
      },
    },
  },
  status: {
    observedGeneration: 7,
    replicas: 3,
    updatedReplicas: 3,
    readyReplicas: 2,
    availableReplicas: 2,
    unavailableReplicas: 1,
    conditions: [
      { type: 'Available', status: 'True', reason: 'MinimumReplicasAvailable', message: 'Deployment has minimum availability.', lastUpdateTime: '2024-03-05T10:16:02Z', lastTransitionTime: '2024-03-05T12:16:02Z' },
      { type: 'Progressing', status: 'True', reason: 'NewReplicaSetAvailable', message: 'ReplicaSet "web-frontend-6d9c7b" has successfully progressed.', lastUpdateTime: '2024-03-05T10:16:02Z', lastTransitionTime: '2024-03-05T10:15:30Z' },
    ],
  },
});

export const pod = (): Record<string, unknown> => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: {
    name: 'web-frontend-6d9c7b-x2k4p',
    generateName: 'web-frontend-6d9c7b-',
    namespace: 'shop',
    uid: '0b9e1d7a-3c52-4f8e-8d6b-5a4c3b2a1f00',
    resourceVersion: '918301',
    creationTimestamp: '2024-03-05T10:15:41Z',
    labels: { 'app.kubernetes.io/name': 'web', 'pod-template-hash': '6d9c7b' },
    ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'web-frontend-6d9c7b', uid: 'aa11bb22-cc33-dd44-ee55-ff6677889900', controller: true, blockOwnerDeletion: true }],
  },
  spec: {
    nodeName: 'worker-2',
    restartPolicy: 'Always',
    containers: [
      { name: 'app', image: 'registry.example.com/shop/web:1.42.0', resources: { limits: { memory: '512Mi' } } },
      { name: 'sidecar', image: 'envoyproxy/envoy:latest' },
    ],
  },
  status: {
    phase: 'Running',
    podIP: '10.244.2.17',
    startTime: '2024-03-05T10:15:42Z',
    conditions: [
      { type: 'Ready', status: 'False', lastTransitionTime: '2024-03-05T10:20:00Z' },
      { type: 'PodScheduled', status: 'True', lastTransitionTime: '2024-03-05T10:15:41Z' },
    ],
    containerStatuses: [
      { name: 'app', ready: true, restartCount: 0, image: 'registry.example.com/shop/web:1.42.0', state: { running: { startedAt: '2024-03-05T10:15:50Z' } } },
      { name: 'sidecar', ready: false, restartCount: 5, image: 'envoyproxy/envoy:latest', state: { waiting: { reason: 'CrashLoopBackOff' } }, lastState: { terminated: { exitCode: 1, reason: 'Error' } } },
    ],
  },
});

export const node = (): Record<string, unknown> => ({
  apiVersion: 'v1',
  kind: 'Node',
  metadata: {
    name: 'worker-2',
    uid: 'c0ffee00-1111-2222-3333-444455556666',
    resourceVersion: '917000',
    creationTimestamp: '2023-11-20T08:00:00Z',
    labels: {
      'kubernetes.io/hostname': 'worker-2',
      'kubernetes.io/os': 'linux',
      'node.kubernetes.io/instance-type': 'm6i.xlarge',
      'topology.kubernetes.io/zone': 'eu-west-1b',
      'node-role.kubernetes.io/worker': '',
    },
  },
  spec: { podCIDR: '10.244.2.0/24', providerID: 'aws:///eu-west-1b/i-0abc123', taints: [{ key: 'dedicated', value: 'web', effect: 'NoSchedule' }] },
  status: {
    capacity: { cpu: '4', memory: '16069676Ki', pods: '110', 'ephemeral-storage': '101445540Ki' },
    allocatable: { cpu: '3920m', memory: '15186988Ki', pods: '110' },
    conditions: [
      { type: 'MemoryPressure', status: 'False', reason: 'KubeletHasSufficientMemory', lastHeartbeatTime: '2024-03-05T12:00:00Z', lastTransitionTime: '2023-11-20T08:01:00Z' },
      { type: 'DiskPressure', status: 'False', reason: 'KubeletHasNoDiskPressure', lastHeartbeatTime: '2024-03-05T12:00:00Z', lastTransitionTime: '2023-11-20T08:01:00Z' },
      { type: 'Ready', status: 'True', reason: 'KubeletReady', lastHeartbeatTime: '2024-03-05T12:00:00Z', lastTransitionTime: '2023-11-20T08:02:00Z' },
    ],
    addresses: [{ type: 'InternalIP', address: '10.0.12.7' }, { type: 'Hostname', address: 'worker-2' }],
    nodeInfo: { kubeletVersion: 'v1.31.4', containerRuntimeVersion: 'containerd://1.7.22', osImage: 'Ubuntu 22.04.4 LTS', architecture: 'amd64' },
  },
});

export const configMap = (): Record<string, unknown> => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: {
    name: 'web-config',
    namespace: 'shop',
    uid: '7e7e7e7e-0000-4000-8000-000000000001',
    resourceVersion: '5001',
    creationTimestamp: '2024-01-10T09:00:00Z',
    labels: { 'app.kubernetes.io/name': 'web' },
  },
  data: { 'config.yaml': 'listen: :8080\nlog: info\n', 'feature-flags.json': '{"beta":true}', LOG_LEVEL: 'info' },
});

export const secret = (annotations: Record<string, string> = {}): Record<string, unknown> => ({
  apiVersion: 'v1',
  kind: 'Secret',
  type: 'Opaque',
  metadata: {
    name: 'web',
    namespace: 'shop',
    uid: '5ec7e700-aaaa-4bbb-8ccc-000000000002',
    resourceVersion: '5002',
    creationTimestamp: '2024-01-10T09:00:00Z',
    annotations,
  },
  data: { token: 'c3VwZXItc2VjcmV0', password: 'aHVudGVyMg==' },
  stringData: { extra: 'plain-secret' },
});
