// @kubernetes/client-node against the embedded test cluster: over TLS trusting the cluster's CA from the
// kubeconfig, with a bearer token, and over plain HTTP with --insecure-http.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import * as k8s from '@kubernetes/client-node';
import { startCluster, sandboxPod, setScenario, release, eventually, phaseOf, TIMESTAMPED } from './cluster.mjs';

let cluster;
let kc;
let core;

before(async () => {
  cluster = await startCluster(['--token', 'client-node-token']);
  kc = new k8s.KubeConfig();
  kc.loadFromFile(cluster.kubeconfig);
  core = kc.makeApiClient(k8s.CoreV1Api);
});
after(async () => cluster?.stop());

test('reads a pod and lists pods with a label selector', async () => {
  await setScenario(cluster, 'n-read', { runner: { output: [{ write: { text: 'x\n' } }] } });
  await core.createNamespacedPod({ namespace: 'default', body: sandboxPod('tale-sbx-node-read', 'n-read') });
  await core.createNamespacedPod({ namespace: 'default', body: sandboxPod('web', 'n-web', { app: 'web' }) });
  const pod = await eventually(
    () => core.readNamespacedPod({ name: 'tale-sbx-node-read', namespace: 'default' }),
    (p) => phaseOf(p) === 'Succeeded',
    'Succeeded',
  );
  assert.equal(pod.metadata.annotations['tale.dev/execution-id'], 'n-read');
  const runner = pod.status.containerStatuses.find((c) => c.name === 'runner');
  assert.equal(runner.state.terminated.exitCode, 0);
  assert.ok(runner.state.terminated.finishedAt instanceof Date);
  const list = await core.listNamespacedPod({ namespace: 'default', labelSelector: 'tale.sandbox=1' });
  assert.deepEqual(list.items.map((p) => p.metadata.name), ['tale-sbx-node-read']);
  const limited = await core.listNamespacedPod({ namespace: 'default', limit: 1 });
  assert.equal(limited.items.length, 1);
  assert.ok(limited.metadata._continue);
  await assert.rejects(core.readNamespacedPod({ name: 'missing', namespace: 'default' }), (e) => e.code === 404);
});

test('reads a log with limitBytes and tailLines, and a missing container is a 400', async () => {
  await setScenario(cluster, 'n-log', { runner: { output: [{ write: { text: 'one\ntwo\nthree\n' } }] } });
  await core.createNamespacedPod({ namespace: 'default', body: sandboxPod('tale-sbx-node-log', 'n-log') });
  await eventually(() => core.readNamespacedPod({ name: 'tale-sbx-node-log', namespace: 'default' }), (p) => phaseOf(p) === 'Succeeded', 'Succeeded');
  const read = (extra) => core.readNamespacedPodLog({ name: 'tale-sbx-node-log', namespace: 'default', container: 'runner', ...extra });
  assert.equal(await read({}), 'one\ntwo\nthree\n');
  assert.equal(await read({ limitBytes: 6 }), 'one\ntw');
  assert.equal(await read({ tailLines: 1 }), 'three\n');
  await assert.rejects(read({ container: 'nope' }), (e) => e.code === 400);
});

test('follows a log across the container writing more, with timestamps', async () => {
  await setScenario(cluster, 'n-follow', {
    runner: { output: [{ write: { text: 'alpha\n' } }, { waitRelease: { name: 'go' } }, { write: { text: 'beta\n' } }] },
  });
  await core.createNamespacedPod({ namespace: 'default', body: sandboxPod('tale-sbx-node-follow', 'n-follow') });
  await eventually(() => core.readNamespacedPod({ name: 'tale-sbx-node-follow', namespace: 'default' }), (p) => phaseOf(p) === 'Running', 'Running');
  const sink = new PassThrough();
  let text = '';
  sink.on('data', (d) => (text += d));
  const ended = new Promise((resolve) => sink.once('end', resolve));
  const log = new k8s.Log(kc);
  await log.log('default', 'tale-sbx-node-follow', 'runner', sink, { follow: true, timestamps: true });
  await eventually(async () => text, (t) => t.includes('alpha'), 'alpha over the follow stream');
  await release(cluster, 'tale-sbx-node-follow', 'go');
  await Promise.race([ended, new Promise((_, reject) => setTimeout(() => reject(new Error('the follow stream did not end')), 10_000))]);
  assert.deepEqual(text.trimEnd().split('\n').map((l) => TIMESTAMPED.exec(l)?.[1]), ['alpha', 'beta']);
});

test('watches pods through their lifecycle', async () => {
  const watch = new k8s.Watch(kc);
  const events = [];
  const done = new Promise((resolve) => {
    watch
      .watch('/api/v1/namespaces/default/pods', { labelSelector: 'watch=me' }, (type, pod) => {
        events.push([type, pod.metadata.name, pod.status?.phase]);
        if (type === 'DELETED') resolve();
      }, () => resolve())
      .then((controller) => (watchController = controller));
  });
  let watchController;
  await eventually(async () => watchController, Boolean, 'the watch to open');
  await setScenario(cluster, 'n-watch', {});
  await core.createNamespacedPod({ namespace: 'default', body: sandboxPod('tale-sbx-node-watch', 'n-watch', { watch: 'me' }) });
  await eventually(async () => events, (e) => e.some(([, , phase]) => phase === 'Succeeded'), 'a Succeeded event');
  await core.deleteNamespacedPod({ name: 'tale-sbx-node-watch', namespace: 'default', gracePeriodSeconds: 0 });
  await Promise.race([done, new Promise((_, reject) => setTimeout(() => reject(new Error('no DELETED event')), 10_000))]);
  watchController.abort();
  assert.deepEqual(events[0].slice(0, 2), ['ADDED', 'tale-sbx-node-watch']);
  assert.equal(events.at(-1)[0], 'DELETED');
  assert.ok(events.every(([, name]) => name === 'tale-sbx-node-watch'), 'the label selector filters');
});

test('a wrong token is refused with 401', async () => {
  const bad = new k8s.KubeConfig();
  bad.loadFromString(JSON.stringify({
    apiVersion: 'v1', kind: 'Config', 'current-context': 'c',
    clusters: [{ name: 'k', cluster: { server: cluster.url, 'certificate-authority-data': Buffer.from(cluster.ca).toString('base64') } }],
    users: [{ name: 'u', user: { token: 'wrong' } }],
    contexts: [{ name: 'c', context: { cluster: 'k', user: 'u' } }],
  }));
  await assert.rejects(bad.makeApiClient(k8s.CoreV1Api).listNamespacedPod({ namespace: 'default' }), (e) => e.code === 401);
});

test('the kubeconfig carries the CA and the server is refused without it', async () => {
  assert.match(cluster.url, /^https:\/\/127\.0\.0\.1:\d+$/);
  const current = kc.getCurrentCluster();
  assert.equal(Buffer.from(current.caData, 'base64').toString(), cluster.ca);
  assert.ok(!current.skipTLSVerify);
  const untrusting = new k8s.KubeConfig();
  untrusting.loadFromString(JSON.stringify({
    apiVersion: 'v1', kind: 'Config', 'current-context': 'c',
    clusters: [{ name: 'k', cluster: { server: cluster.url } }],
    users: [{ name: 'u', user: { token: 'client-node-token' } }],
    contexts: [{ name: 'c', context: { cluster: 'k', user: 'u' } }],
  }));
  await assert.rejects(
    untrusting.makeApiClient(k8s.CoreV1Api).listNamespacedPod({ namespace: 'default' }),
    (e) => /certificate/i.test(`${e.message} ${e.cause?.message ?? ''} ${e.code ?? ''}`),
  );
});

test('plain HTTP with --insecure-http works too', async () => {
  const plain = await startCluster(['--insecure-http']);
  try {
    assert.match(plain.url, /^http:\/\//);
    const plainKc = new k8s.KubeConfig();
    plainKc.loadFromFile(plain.kubeconfig);
    const plainCore = plainKc.makeApiClient(k8s.CoreV1Api);
    await setScenario(plain, 'n-plain', {});
    await plainCore.createNamespacedPod({ namespace: 'default', body: sandboxPod('tale-sbx-node-plain', 'n-plain') });
    const list = await plainCore.listNamespacedPod({ namespace: 'default' });
    assert.deepEqual(list.items.map((p) => p.metadata.name), ['tale-sbx-node-plain']);
  } finally {
    await plain.stop();
  }
});
