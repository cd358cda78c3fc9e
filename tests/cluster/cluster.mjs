// Starts the `tale-testcluster` binary for a test and talks to it over HTTPS (trusting the CA it
// writes with --ca-file) or plain HTTP (--insecure-http), with its bearer token when it has one.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

const BIN = process.env.TALE_TESTCLUSTER_BIN;

/** Clusters still running: killed when this process exits, however it exits (an orphaned cluster
 * would keep the pipes of whoever started the test open). */
const running = new Set();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/**
 * Spawns the cluster with extra CLI args; resolves once it prints its URL. Over TLS (the default) the
 * result carries the CA: `caFile` (PEM file) and `ca` (its text); `token` is the `--token` argument.
 */
export async function startCluster(args = []) {
  if (!BIN) {
    throw new Error('TALE_TESTCLUSTER_BIN is not set: run these tests through tests/cluster/run.sh');
  }
  const dir = mkdtempSync(join(tmpdir(), 'tale-testcluster-'));
  const kubeconfig = join(dir, 'kubeconfig');
  const tls = !args.includes('--insecure-http');
  const caFile = tls ? join(dir, 'ca.crt') : undefined;
  const caArgs = tls ? ['--ca-file', caFile] : [];
  const tokenAt = args.indexOf('--token');
  const token = tokenAt >= 0 ? args[tokenAt + 1] : undefined;
  const child = spawn(BIN, ['--port', '0', '--kubeconfig', kubeconfig, ...caArgs, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  running.add(child);
  child.once('exit', () => running.delete(child));
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
    caFile,
    ca: tls ? readFileSync(caFile, 'utf8') : undefined,
    token,
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

/** One request with a JSON body (or none); resolves with the parsed answer, rejects on a non-2xx status. */
function call(cluster, method, path, body) {
  const url = new URL(path, cluster.url);
  const payload = body === undefined ? undefined : JSON.stringify(body);
  const headers = {};
  if (payload !== undefined) {
    headers['content-type'] = 'application/json';
    headers['content-length'] = Buffer.byteLength(payload);
  }
  if (cluster.token) headers.authorization = `Bearer ${cluster.token}`;
  const transport = url.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const request = transport.request(url, { method, headers, ca: cluster.ca }, (response) => {
      let text = '';
      response.setEncoding('utf8');
      response.on('data', (d) => (text += d));
      response.on('error', reject);
      response.on('end', () => {
        if (response.statusCode < 200 || response.statusCode > 299) {
          reject(new Error(`${method} ${path} -> ${response.statusCode}: ${text}`));
        } else {
          resolve(text ? JSON.parse(text) : null);
        }
      });
    });
    request.on('error', reject);
    request.end(payload);
  });
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
