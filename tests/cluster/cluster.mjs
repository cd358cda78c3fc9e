// Starts the `tale-testcluster` binary for a test and talks to its control endpoints.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

const BIN = process.env.TALE_TESTCLUSTER_BIN;

/** Spawns the cluster with extra CLI args; resolves once it prints its URL. */
export async function startCluster(args = []) {
  if (!BIN) {
    throw new Error('TALE_TESTCLUSTER_BIN is not set: run these tests through tests/cluster/run.sh');
  }
  const dir = mkdtempSync(join(tmpdir(), 'tale-testcluster-'));
  const kubeconfig = join(dir, 'kubeconfig');
  const child = spawn(BIN, ['--port', '0', '--kubeconfig', kubeconfig, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  const url = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the test cluster did not start within 10 s')), 10_000);
    child.once('exit', (code) => reject(new Error(`the test cluster exited early with code ${code}`)));
    createInterface({ input: child.stdout }).on('line', (line) => {
      const match = /^listening on (\S+)$/.exec(line);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    });
  });
  return {
    url,
    kubeconfig,
    async stop() {
      child.kill('SIGTERM');
      await new Promise((resolve) => (child.exitCode !== null ? resolve() : child.once('exit', resolve)));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A pod shaped like the sandbox service's (init `stage`, `runner`, `harvest`). */
export function sandboxPod(name, executionId, labels = { 'tale.sandbox': '1', 'tale.sandbox/role': 'runtime' }) {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, labels, annotations: { 'tale.dev/execution-id': executionId } },
    spec: {
      restartPolicy: 'Never',
      initContainers: [{ name: 'stage', image: 'spawner:latest' }],
      containers: [
        { name: 'runner', image: 'runtime:latest' },
        { name: 'harvest', image: 'spawner:latest' },
      ],
    },
  };
}

async function call(cluster, method, path, body) {
  const response = await fetch(cluster.url + path, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  if (!response.ok) {
    throw new Error(`${method} ${path} -> ${response.status}: ${text}`);
  }
  return text ? JSON.parse(text) : null;
}

/** Sets the scenario of an execution id. */
export const setScenario = (cluster, id, scenario) => call(cluster, 'PUT', `/sim/v1/scenarios/${id}`, scenario);
/** Creates a pod through the Kubernetes API. */
export const createPod = (cluster, pod, ns = 'default') => call(cluster, 'POST', `/api/v1/namespaces/${ns}/pods`, pod);
/** Creates a secret through the Kubernetes API. */
export const createSecret = (cluster, secret, ns = 'default') => call(cluster, 'POST', `/api/v1/namespaces/${ns}/secrets`, secret);
/** Releases a `waitRelease` step of a pod. */
export const release = (cluster, pod, name, ns = 'default') => call(cluster, 'POST', `/sim/v1/namespaces/${ns}/pods/${pod}/release/${name}`);
/** Reads a pod as JSON (raw API). */
export const getPod = (cluster, pod, ns = 'default') => call(cluster, 'GET', `/api/v1/namespaces/${ns}/pods/${pod}`);
/** The cluster's counters. */
export const metrics = (cluster) => call(cluster, 'GET', '/sim/v1/metrics');

/** Polls `read` until `predicate` holds, for at most `ms`. */
export async function eventually(read, predicate, what, ms = 10_000) {
  const deadline = Date.now() + ms;
  let last;
  while (Date.now() < deadline) {
    last = await read();
    if (predicate(last)) return last;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`timed out waiting for ${what}; last value: ${JSON.stringify(last)}`);
}

/** The phase of a pod object. */
export const phaseOf = (pod) => pod?.status?.phase;

/** Matches one `timestamps=true` line: 30-byte RFC 3339 time with 9 fraction digits, a space, the text. */
export const TIMESTAMPED = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z (.*)$/;
