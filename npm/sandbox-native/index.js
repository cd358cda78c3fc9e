// Loader of @tale/sandbox-native: picks the native addon built for this platform and exports
// what it exports.
//
// Order: a local build next to this file (`sandbox-native.<platform>.node`, written by
// scripts/build-node.sh in a checkout), then the platform package
// `@tale/sandbox-native-<platform>` (an optional dependency installed by npm for the matching
// os/cpu/libc). When neither is there, the error names both and says how to get one.
'use strict'

const { existsSync } = require('node:fs')
const { join } = require('node:path')

const { platformNames } = require('./platform.js')
const { optionalDependencies = {} } = require('./package.json')

const PACKAGE = '@tale/sandbox-native'
const BINARY = 'sandbox-native'
// Platforms with a published platform package: the optional dependencies.
const PUBLISHED = new Set(Object.keys(optionalDependencies).map((name) => name.slice(`${PACKAGE}-`.length)))

function load() {
  const platforms = platformNames()
  for (const platform of platforms) {
    const localFile = join(__dirname, `${BINARY}.${platform}.node`)
    if (existsSync(localFile)) return require(localFile)
  }
  for (const platform of platforms) {
    const platformPackage = `${PACKAGE}-${platform}`
    try {
      return require(platformPackage)
    } catch (error) {
      // Anything but "not installed" (a corrupt or incompatible addon) must surface as it is.
      if (!(error && error.code === 'MODULE_NOT_FOUND' && String(error.message).includes(platformPackage))) {
        throw error
      }
    }
  }
  throw missing(platforms)
}

function missing(platforms) {
  const platform = platforms.join(' or ')
  const localFile = platforms.map((name) => join(__dirname, `${BINARY}.${name}.node`)).join(' or ')
  const platformPackage = platforms.map((name) => `${PACKAGE}-${name}`).join(' or ')
  const published = platforms.filter((name) => PUBLISHED.has(name)).map((name) => `${PACKAGE}-${name}`)
  const lines = [
    `${PACKAGE}: no native addon for this platform (${platform}).`,
    `  - local build: ${localFile} does not exist;`,
    `  - platform package: ${platformPackage} is not installed.`,
  ]
  if (platforms.length > 1) lines.push('  (the C library of this Linux system could not be determined, so both were tried)')
  if (published.length > 0) {
    lines.push(
      `Install it with \`npm install ${published[0]}\` (an optional dependency of ${PACKAGE}:`,
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
  return error
}

/**
 * Whether an export of the addon is a class: napi-rs defines a class's methods and accessors on
 * its prototype, while a plain function's prototype holds only `constructor`.
 */
function isClass(value) {
  return typeof value === 'function' && value.prototype != null && Reflect.ownKeys(value.prototype).some((key) => key !== 'constructor')
}

/**
 * napi-rs classes can be called without `new`, which would wrap `this` (the global object or
 * any receiver) as an instance. Make them behave like JS classes instead: a call without `new`
 * is a TypeError. `instanceof` and static members go through to the class.
 *
 * `new` on the proxy constructs the class itself as the new target: V8 keeps the initial hidden
 * class of instances on the constructor, and a Proxy as the new target has none, so every
 * instance would get a hidden class of its own, which makes every call site that sees several
 * accumulators megamorphic, and deoptimises code that saw one when it is collected. A subclass
 * (`class Mine extends StdoutAccumulator`) stays the new target of its own instances.
 */
function requireNew(NativeClass) {
  const proxy = new Proxy(NativeClass, {
    apply() {
      throw new TypeError(`Class constructor ${NativeClass.name} cannot be invoked without 'new'`)
    },
    construct(target, args, newTarget) {
      return Reflect.construct(target, args, newTarget === proxy ? target : newTarget)
    },
  })
  return proxy
}

/**
 * One accumulator, kept for the life of the process, that went through what every accumulator
 * goes through (construction, which Node-API's wrap and type tag give hidden classes of their
 * own, and a read). V8 holds the hidden classes that optimised code depends on only weakly: when
 * no accumulator is alive at a collection (a service between two executions, a benchmark between
 * two runs), those classes die and V8 throws away every optimised function that saw an
 * accumulator — `pushCount`'s JS side first — and optimises it again on the next execution, in
 * the meantime running it several times slower. The exemplar (a 1-byte cap, no bytes) keeps the
 * classes alive. Pinned by `tests/node/package.test.js` ("optimised code for accumulators
 * survives a collection with none alive").
 */
let exemplar
function keepHiddenClassesAlive(NativeClass) {
  exemplar = new NativeClass({ capBytes: 1, timestamps: false })
  exemplar.beginRead()
  exemplar.endRead()
}

const binding = load()

// `pushCount` counts the chunks of a raw poll that only re-serve bytes already taken on the JS
// side, instead of handing each one to the addon (skip-layer.js; the same file serves the wasm
// package). Installed on the class's prototype, before anything can construct an accumulator.
if (typeof binding.StdoutAccumulator === 'function') {
  require('./skip-layer.js').installSkipLayer(binding.StdoutAccumulator)
  keepHiddenClassesAlive(binding.StdoutAccumulator)
}

// Everything the addon exports (index.d.ts, generated from the same build, declares each).
for (const [name, value] of Object.entries(binding)) {
  module.exports[name] = isClass(value) ? requireNew(value) : value
}
