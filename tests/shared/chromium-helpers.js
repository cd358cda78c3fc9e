// Node-only helpers of the headless-Chromium tests (tests/browser): Debian's chromium, the flags
// it runs with, and the local HTTP server of the files its pages load.
import { execFileSync } from 'node:child_process'
import { createReadStream, statSync } from 'node:fs'
import { createServer } from 'node:http'
import { extname, join, normalize, sep } from 'node:path'

export const CHROMIUM_FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync']
const CONTENT_TYPES = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.wasm': 'application/wasm', '.json': 'application/json' }

/** The chromium executable on PATH; a clear error when it is missing. */
export function chromiumPath() {
  try {
    return execFileSync('which', ['chromium'], { encoding: 'utf8' }).trim()
  } catch {
    throw new Error("chromium is not on PATH: install Debian's package (apt-get install -y chromium); scripts/test-all.sh does it")
  }
}

/**
 * Serves files on 127.0.0.1 (a free port; `server.address().port`) and resolves to the server
 * once it listens. `routes` lists `[URL prefix, folder]` pairs: the first prefix a path starts
 * with names the folder (list longer prefixes first); `index`, when given, is the file served at
 * `/`. A path that leaves its folder, or names no file, gets 404.
 */
export async function serveFiles(routes, index) {
  const server = createServer((request, response) => {
    const path = decodeURIComponent(new URL(request.url, 'http://127.0.0.1').pathname)
    let file = path === '/' ? index : undefined
    const route = file ? undefined : routes.find(([prefix]) => path.startsWith(prefix))
    if (route) {
      const [prefix, dir] = route
      const candidate = normalize(join(dir, path.slice(prefix.length)))
      if (candidate.startsWith(dir + sep)) file = candidate
    }
    if (!file || !statSync(file, { throwIfNoEntry: false })?.isFile()) {
      response.writeHead(404).end(`not found: ${path}`)
      return
    }
    response.writeHead(200, { 'content-type': CONTENT_TYPES[extname(file)] ?? 'application/octet-stream', 'cache-control': 'no-store' })
    createReadStream(file).pipe(response)
  })
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  return server
}
