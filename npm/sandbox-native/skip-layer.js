// The JS side of `StdoutAccumulator.prototype.pushCount`, shared by the napi package
// (@tale/sandbox-native, whose loader requires this file) and the wasm package
// (@tale/sandbox-native-wasm, whose build wraps a copy of it as an ES module: keep this file free
// of `require` and of anything but `module.exports`).
//
// A raw poll re-serves the whole log file, and the accumulator only counts most of it (it checks
// a few windows). Natively that costs nanoseconds per 64 KiB chunk; from JS, each chunk handed
// over costs a JS-to-native crossing (about 0.8 µs in napi, 1.5 µs in wasm), which made a poll
// of a large file cost tens of times its native work. So `pushCount` learns once how many of
// the response's next bytes the accumulator would pass over without looking
// (`skippableAhead()`), counts the chunks that fit on the JS side, and settles them (passes them
// over, as `trySkip(count)` does) before anything else reaches the accumulator. Every other
// method and getter settles first, so what any of them sees or does is what it would after
// pushing every chunk.
//
// A chunk that does not fit is handed over in one crossing, by the bindings' internal
// `__settlePushCount(chunk, pending)`: it settles what is pending, pushes the chunk as
// `pushCount` does, and answers the accepted count when positive, otherwise minus what
// `skippableAhead()` says (0 in timestamped mode) — three calls' work (`trySkip`, `pushCount`,
// `skippableAhead`) for the price of one. The layer takes it from the prototype and deletes it
// there: it is not part of the API.
'use strict'

const INSTALLED = Symbol.for('tale.sandbox.skipLayer')

// What the JS side keeps per accumulator, in a WeakMap rather than on the object: the object
// stays as the caller sees it (no extra property, whatever its class or subclass), and a lookup
// by identity does not depend on the object's hidden class (before the napi loader constructed
// through the class itself, every napi instance had one of its own, and a property read on them
// deoptimised the per-chunk path at every new accumulator). One object, created at the first
// read begun, with the same shape for every accumulator:
//   budget   bytes the open read may still pass over, beyond those pending;
//   pending  bytes counted on the JS side and not yet passed over natively.
const states = new WeakMap()

/** One accumulator's state (see above): one class, so one hidden class for all of them. */
class SkipState {
  constructor() {
    // Non-integers first, so that the fields hold doubles from the start (see createState).
    this.budget = 0.5
    this.pending = 0.5
    this.budget = 0
    this.pending = 0
  }
}

// The bindings' internal one-crossing push (see the top of this file), taken from the prototype.
const SETTLE_PUSH_COUNT = '__settlePushCount'

// What the accumulators themselves accept as a chunk they may skip: a Uint8Array (read through
// the typed array's own internal slots, so neither a Proxy nor an overridden `length` can pass
// for one), of this realm (the wasm binding's check is `instanceof Uint8Array`). Anything else
// goes to the accumulator, which accepts it or throws its TypeError.
const TypedArrayPrototype = Object.getPrototypeOf(Uint8Array.prototype)
const typedArrayName = Object.getOwnPropertyDescriptor(TypedArrayPrototype, Symbol.toStringTag).get
const typedArrayLength = Object.getOwnPropertyDescriptor(TypedArrayPrototype, 'length').get

// Methods that change nothing in the accumulator: after settling, what was known to be
// skippable still is. Every other method may change it (a read begun or closed, bytes pushed).
const READ_ONLY = new Set(['stdoutLength', 'stdoutSlice', 'finish', 'byteCounts', 'skippableAhead', 'timestamps'])
// Release the native object: what is pending is dropped with it, nothing is settled.
const RELEASING = new Set(['free', Symbol.dispose].filter((key) => key !== undefined))
// wasm-bindgen's internal helper of `free` (not part of the API).
const LEFT_ALONE = new Set(['constructor', '__destroy_into_raw'])

/**
 * Installs the layer on `Class.prototype` (the class object itself is unchanged: `instanceof`
 * and every static member are as before). The prototype must have the native `pushCount`,
 * `trySkip` and the internal `__settlePushCount`, which it deletes (the package ships the
 * native side and this file together); installing twice does nothing.
 */
function installSkipLayer(Class) {
  const proto = Class.prototype
  if (Object.prototype.hasOwnProperty.call(proto, INSTALLED)) return
  const pushCount = proto.pushCount
  const trySkip = proto.trySkip
  const settlePushCount = Object.getOwnPropertyDescriptor(proto, SETTLE_PUSH_COUNT)?.value
  if (typeof pushCount !== 'function' || typeof trySkip !== 'function' || typeof settlePushCount !== 'function') {
    throw new Error(`internal error in ${Class.name}: the native class lacks pushCount, trySkip or ${SETTLE_PUSH_COUNT}`)
  }
  // Before the methods are wrapped below, so that it is neither wrapped nor left behind.
  if (!Reflect.deleteProperty(proto, SETTLE_PUSH_COUNT)) {
    throw new Error(`internal error in ${Class.name}: ${SETTLE_PUSH_COUNT} could not be deleted from the prototype`)
  }

  // The state is only ever created on accumulators (after a native call accepted them as
  // `this`), and only read elsewhere: a wrong receiver reaches the native method unchanged, which
  // throws what it throws without the layer.

  /** Passes the bytes counted on the JS side to the accumulator. */
  function settle(state, acc) {
    const pending = state.pending
    if (pending > 0) {
      state.pending = 0
      // Within what `skippableAhead()` allowed, so the accumulator passes them over by contract.
      if (trySkip.call(acc, pending) !== true) {
        state.budget = 0
        throw new Error(`internal error in ${Class.name}: ${pending} bytes counted as skippable were refused by trySkip; this accumulator's counts are no longer exact`)
      }
    }
  }

  /** The state of `acc`, if it has one (never for a wrong receiver). */
  function stateOf(acc) {
    return states.get(acc)
  }

  /**
   * Gives `acc` (which the accumulator just took as `this`) its state. Called by `beginRead`, so
   * that the per-chunk path never allocates (an allocation there ties its optimised code to the
   * allocation site's tenuring decisions). The counts start as non-integers so that their fields
   * hold doubles from the start: the accumulators return counts as either kind of number, and a
   * field that changed representation would deoptimise the per-chunk path.
   */
  function createState(acc) {
    states.set(acc, new SkipState())
  }

  function wrapMethod(key, method, keepsBudget) {
    return {
      [key](...args) {
        const state = stateOf(this)
        if (state !== undefined) {
          settle(state, this)
          if (!keepsBudget) state.budget = 0
        }
        return method.apply(this, args)
      },
    }[key]
  }

  function wrapGetter(getter, keepsBudget) {
    return function () {
      const state = stateOf(this)
      if (state !== undefined) {
        settle(state, this)
        if (!keepsBudget) state.budget = 0
      }
      return getter.call(this)
    }
  }

  for (const key of Reflect.ownKeys(proto)) {
    if (LEFT_ALONE.has(key) || key === 'pushCount') continue
    const descriptor = Object.getOwnPropertyDescriptor(proto, key)
    const keepsBudget = READ_ONLY.has(key)
    if (typeof descriptor.value === 'function') {
      const method = descriptor.value
      descriptor.value = key === 'beginRead'
        ? {
            beginRead(...args) {
              const state = stateOf(this)
              if (state !== undefined) {
                settle(state, this)
                state.budget = 0
              }
              const accepted = method.apply(this, args)
              if (state === undefined) createState(this)
              return accepted
            },
          }.beginRead
        : RELEASING.has(key)
        ? {
            [key]() {
              const state = stateOf(this)
              if (state !== undefined) state.pending = state.budget = 0
              return method.apply(this, arguments)
            },
          }[key]
        : wrapMethod(key, method, keepsBudget)
    } else if (typeof descriptor.get === 'function') {
      descriptor.get = wrapGetter(descriptor.get, keepsBudget)
      if (typeof descriptor.set === 'function') descriptor.set = wrapMethod(key, descriptor.set, false)
    } else {
      continue
    }
    Object.defineProperty(proto, key, descriptor)
  }

  const pushCountDescriptor = Object.getOwnPropertyDescriptor(proto, 'pushCount')
  pushCountDescriptor.value = {
    pushCount(chunk) {
      const state = stateOf(this)
      // Without a state, no read was begun through this prototype: the push throws (outside a
      // read, or a wrong receiver).
      if (state === undefined) return pushCount.call(this, chunk)
      const budget = state.budget
      // A budget is only ever set inside an open read, after a push the accumulator took.
      if (budget > 0) {
        if (chunk instanceof Uint8Array && typedArrayName.call(chunk) === 'Uint8Array') {
          const length = typedArrayLength.call(chunk)
          if (length <= budget) {
            state.budget = budget - length
            state.pending += length
            return 0
          }
        }
        state.budget = 0
      }
      // Settles and pushes in one crossing. What is pending is handed over (and forgotten here)
      // before the call, so that whatever it throws (a bad chunk, a push outside a read, a
      // refusal), those bytes are never settled twice.
      const pending = state.pending
      state.pending = 0
      const result = settlePushCount.call(this, chunk, pending)
      if (result > 0) return result
      // Nothing accepted: the next -result bytes may be counted here (none in timestamped mode).
      state.budget = -result
      return 0
    },
  }.pushCount
  Object.defineProperty(proto, 'pushCount', pushCountDescriptor)
  Object.defineProperty(proto, INSTALLED, { value: true })
}

module.exports = { installSkipLayer }
