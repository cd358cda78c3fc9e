// Loader of @tale/sandbox-native: picks the native addon built for this platform.
//
// Order: a local build next to this file (`sandbox-native.<platform>.node`, written by
// scripts/build-node.sh in a checkout), then the platform package
// `@tale/sandbox-native-<platform>` (an optional dependency installed by npm for the matching
// os/cpu/libc). When neither is there, the error names both and says how to get one.
'use strict'

const { existsSync } = require('node:fs')
const { join } = require('node:path')

const PACKAGE = '@tale/sandbox-native'
const BINARY = 'sandbox-native'
// Platforms with a published platform package (keep in step with optionalDependencies).
const PUBLISHED = new Set(['linux-x64-gnu'])

function isMusl() {
  // glibc reports its version in the process report header; musl does not.
  const report = process.report && typeof process.report.getReport === 'function'
    ? process.report.getReport()
    : null
  return !(report && report.header && report.header.glibcVersionRuntime)
}

/** The napi-rs platform name of this process, e.g. `linux-x64-gnu`, `darwin-arm64`. */
function platformName() {
  const { platform, arch } = process
  if (platform === 'linux') return `linux-${arch}-${isMusl() ? 'musl' : 'gnu'}`
  if (platform === 'win32') return `win32-${arch}-msvc`
  return `${platform}-${arch}`
}

function load() {
  const platform = platformName()
  const localFile = join(__dirname, `${BINARY}.${platform}.node`)
  if (existsSync(localFile)) return require(localFile)

  const platformPackage = `${PACKAGE}-${platform}`
  try {
    return require(platformPackage)
  } catch (error) {
    // Anything but "not installed" (a corrupt or incompatible addon) must surface as it is.
    if (!(error && error.code === 'MODULE_NOT_FOUND' && String(error.message).includes(platformPackage))) {
      throw error
    }
  }

  const lines = [
    `${PACKAGE}: no native addon for this platform (${platform}).`,
    `  - local build: ${localFile} does not exist;`,
    `  - platform package: ${platformPackage} is not installed.`,
  ]
  if (PUBLISHED.has(platform)) {
    lines.push(
      `Install it with \`npm install ${platformPackage}\` (an optional dependency of ${PACKAGE}:`,
      '  do not install with --omit=optional / --no-optional), or build the addon from a checkout',
      '  of the repository with `bash scripts/build-node.sh` (needs Rust and Node >= 20.17).',
    )
  } else {
    lines.push(
      `No prebuilt package exists for ${platform}; build the addon from a checkout of the`,
      '  repository with `bash scripts/build-node.sh` (needs Rust and Node >= 20.17).',
    )
  }
  const error = new Error(lines.join('\n'))
  error.code = 'ERR_TALE_SANDBOX_NATIVE_MISSING'
  throw error
}

/**
 * napi-rs classes can be called without `new`, which would wrap `this` (the global object) as an
 * accumulator. Make them behave like JS classes instead: a call without `new` is a TypeError.
 */
function requireNew(NativeClass) {
  return new Proxy(NativeClass, {
    apply() {
      throw new TypeError(`Class constructor ${NativeClass.name} cannot be invoked without 'new'`)
    },
  })
}

const binding = load()

module.exports.StdoutAccumulator = requireNew(binding.StdoutAccumulator)
