// kubectl (on PATH) against the embedded test cluster: over TLS with a bearer token, through the
// kubeconfig the cluster writes and through kubectl's own --server/--certificate-authority/--token
// flags, and over plain HTTP with --insecure-http.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn, spawnSync } from 'node:child_process';
import { writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startCluster, sandboxPod, setScenario, createPod, createSecret, release, getPod, eventually, phaseOf, TIMESTAMPED } from './cluster.mjs';

const run = promisify(execFile);
let cluster;

function requireKubectl() {
  const probe = spawnSync('kubectl', ['version', '--client'], { encoding: 'utf8' });
  if (probe.error || probe.status !== 0) {
    throw new Error('kubectl is not on the PATH: install it (tests/cluster/run.sh explains how); these tests never skip');
  }
}

const kubectl = (...args) => run('kubectl', ['--kubeconfig', cluster.kubeconfig, ...args], { encoding: 'utf8' });

before(async () => {
  requireKubectl();
  cluster = await startCluster(['--token', 'kubectl-token']);
});
after(async () => cluster?.stop());

test('kubectl get pods lists the pods with their status', async () => {
  await setScenario(cluster, 'k-done', { runner: { output: [{ write: { text: 'done\n' } }] } });
  await createPod(cluster, sandboxPod('tale-sbx-kubectl-done', 'k-done'));
  await setScenario(cluster, 'k-image', { runner: { waiting: { reason: 'ImagePullBackOff' } } });
  await createPod(cluster, sandboxPod('tale-sbx-kubectl-image', 'k-image'));
  await eventually(() => getPod(cluster, 'tale-sbx-kubectl-done'), (p) => phaseOf(p) === 'Succeeded', 'Succeeded');
  await eventually(
    () => getPod(cluster, 'tale-sbx-kubectl-image'),
    (p) => p.status?.containerStatuses?.[0]?.state?.waiting?.reason === 'ImagePullBackOff',
    'ImagePullBackOff',
  );
  const { stdout } = await kubectl('get', 'pods');
  const rows = stdout.trim().split('\n').map((l) => l.trim().split(/\s+/));
  assert.deepEqual(rows[0], ['NAME', 'READY', 'STATUS', 'RESTARTS', 'AGE']);
  const byName = Object.fromEntries(rows.slice(1).map((r) => [r[0], r]));
  assert.equal(byName['tale-sbx-kubectl-done'][2], 'Completed');
  assert.equal(byName['tale-sbx-kubectl-image'][2], 'ImagePullBackOff');
  const { stdout: json } = await kubectl('get', 'pods', '-l', 'tale.sandbox=1', '-o', 'json');
  assert.equal(JSON.parse(json).items.length, 2);
});

test('kubectl get secrets lists secrets', async () => {
  await createSecret(cluster, {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: 'tale-sbx-kubectl-spec', labels: { 'tale.sandbox': '1' } },
    stringData: { 'spec.json': '{}', other: 'x' },
  });
  const { stdout } = await kubectl('get', 'secrets');
  const row = stdout.split('\n').find((l) => l.startsWith('tale-sbx-kubectl-spec'));
  assert.ok(row, stdout);
  assert.deepEqual(row.trim().split(/\s+/).slice(0, 3), ['tale-sbx-kubectl-spec', 'Opaque', '2']);
  const { stdout: yaml } = await kubectl('get', 'secret', 'tale-sbx-kubectl-spec', '-o', 'jsonpath={.data.spec\\.json}');
  assert.equal(Buffer.from(yaml, 'base64').toString(), '{}');
});

test('kubectl logs -f --timestamps streams the runner output until the container exits', async () => {
  await setScenario(cluster, 'k-follow', {
    runner: {
      output: [
        { write: { text: 'first line\n' } },
        { waitRelease: { name: 'more' } },
        { write: { text: 'second line\nthird line\n' } },
      ],
    },
  });
  await createPod(cluster, sandboxPod('tale-sbx-kubectl-follow', 'k-follow'));
  await eventually(() => getPod(cluster, 'tale-sbx-kubectl-follow'), (p) => phaseOf(p) === 'Running', 'Running');
  const child = spawn('kubectl', ['--kubeconfig', cluster.kubeconfig, 'logs', '-f', '--timestamps', 'tale-sbx-kubectl-follow', '-c', 'runner']);
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  let err = '';
  child.stderr.on('data', (d) => (err += d));
  const exited = new Promise((resolve) => child.once('exit', resolve));
  await eventually(async () => out, (o) => o.includes('first line'), 'the first line over the follow stream');
  assert.equal(child.exitCode, null, 'still following');
  await release(cluster, 'tale-sbx-kubectl-follow', 'more');
  const code = await Promise.race([exited, new Promise((_, reject) => setTimeout(() => reject(new Error('kubectl logs -f did not end')), 10_000))]);
  assert.equal(code, 0, err);
  const lines = out.trimEnd().split('\n');
  assert.deepEqual(lines.map((l) => TIMESTAMPED.exec(l)?.[1]), ['first line', 'second line', 'third line']);
});

test('kubectl delete pod removes the pod', async () => {
  await setScenario(cluster, 'k-delete', { runner: { hang: true } });
  await createPod(cluster, sandboxPod('tale-sbx-kubectl-delete', 'k-delete'));
  await eventually(() => getPod(cluster, 'tale-sbx-kubectl-delete'), (p) => phaseOf(p) === 'Running', 'Running');
  const { stdout } = await kubectl('delete', 'pod', 'tale-sbx-kubectl-delete', '--grace-period=0', '--force');
  assert.match(stdout, /pod "tale-sbx-kubectl-delete" (force )?deleted/);
  await assert.rejects(kubectl('get', 'pod', 'tale-sbx-kubectl-delete'), /NotFound/);
});

test('kubectl --token with --certificate-authority reaches the TLS cluster without its kubeconfig', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tale-kubectl-'));
  try {
    // An empty kubeconfig: everything comes from the flags.
    const empty = join(dir, 'kubeconfig');
    writeFileSync(empty, '');
    const flags = (token) => ['--kubeconfig', empty, '--server', cluster.url, '--certificate-authority', cluster.caFile, '--token', token];
    assert.match(cluster.url, /^https:\/\/127\.0\.0\.1:\d+$/);
    await createSecret(cluster, { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'tale-sbx-kubectl-flags' }, stringData: { a: 'b' } });
    const { stdout } = await run('kubectl', [...flags('kubectl-token'), 'get', 'secret', 'tale-sbx-kubectl-flags', '-n', 'default', '-o', 'name'], { encoding: 'utf8' });
    assert.equal(stdout.trim(), 'secret/tale-sbx-kubectl-flags');
    await assert.rejects(run('kubectl', [...flags('wrong-token'), 'get', 'pods', '-n', 'default'], { encoding: 'utf8' }), /Unauthorized/);
    // Without the CA kubectl refuses the server's certificate.
    const noCa = ['--kubeconfig', empty, '--server', cluster.url, '--token', 'kubectl-token', 'get', 'pods', '-n', 'default'];
    await assert.rejects(run('kubectl', noCa, { encoding: 'utf8' }), /certificate/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('kubectl works over plain HTTP with --insecure-http', async () => {
  const plain = await startCluster(['--insecure-http']);
  try {
    assert.match(plain.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.equal(plain.caFile, undefined);
    await setScenario(plain, 'k-plain', { runner: { output: [{ write: { text: 'plain\n' } }] } });
    await createPod(plain, sandboxPod('tale-sbx-kubectl-plain', 'k-plain'));
    await eventually(() => getPod(plain, 'tale-sbx-kubectl-plain'), (p) => phaseOf(p) === 'Succeeded', 'Succeeded');
    const { stdout } = await run('kubectl', ['--kubeconfig', plain.kubeconfig, 'logs', 'tale-sbx-kubectl-plain', '-c', 'runner'], { encoding: 'utf8' });
    assert.equal(stdout, 'plain\n');
  } finally {
    await plain.stop();
  }
});
