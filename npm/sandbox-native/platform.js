// Which napi-rs platform names (`linux-x64-gnu`, `darwin-arm64`, …) this process can load, as
// the loaders napi-rs generates decide it. On Linux that needs the C library Node runs on, read
// from what the process itself shows, cheapest first:
//   1. the ELF interpreter of the Node binary (`/lib64/ld-linux-x86-64.so.2`, `/lib/ld-musl-x86_64.so.1`);
//   2. the diagnostic report: glibc's version in its header, or a musl library among those loaded;
//   3. the text of `/usr/bin/ldd`.
// A source that says nothing is not evidence: when none answers, the C library is unknown and
// both names are tried, glibc first.
'use strict'

const { closeSync, openSync, readFileSync, readSync } = require('node:fs')

const PT_INTERP = 3

/** The program interpreter (`PT_INTERP`) of the ELF file at `path`, or null. */
function elfInterpreter(path) {
  let fd
  try {
    fd = openSync(path, 'r')
    const header = Buffer.alloc(64)
    if (readSync(fd, header, 0, header.length, 0) < 52 || header.toString('latin1', 0, 4) !== '\x7fELF') return null
    const is64 = header[4] === 2
    const little = header[5] === 1
    const u16 = (buf, at) => (little ? buf.readUInt16LE(at) : buf.readUInt16BE(at))
    const u32 = (buf, at) => (little ? buf.readUInt32LE(at) : buf.readUInt32BE(at))
    const word = (buf, at) => (is64 ? Number(little ? buf.readBigUInt64LE(at) : buf.readBigUInt64BE(at)) : u32(buf, at))
    const tableAt = word(header, is64 ? 0x20 : 0x1c)
    const entrySize = u16(header, is64 ? 0x36 : 0x2a)
    const entries = u16(header, is64 ? 0x38 : 0x2c)
    const table = Buffer.alloc(entrySize * entries)
    if (readSync(fd, table, 0, table.length, tableAt) < table.length) return null
    for (let i = 0; i < entries; i++) {
      const entry = i * entrySize
      if (u32(table, entry) !== PT_INTERP) continue
      const at = word(table, entry + (is64 ? 0x08 : 0x04))
      const size = Math.min(word(table, entry + (is64 ? 0x20 : 0x10)), 4096)
      const name = Buffer.alloc(size)
      const read = readSync(fd, name, 0, size, at)
      return name.toString('latin1', 0, read).replace(/\0[^]*$/, '')
    }
    return null
  } catch {
    return null
  } finally {
    if (fd !== undefined) closeSync(fd)
  }
}

/** `'gnu'`, `'musl'` or null from the path of a dynamic loader or C library. */
function libcOfLoader(path) {
  if (typeof path !== 'string') return null
  if (/(?:^|\/)(?:ld-musl-|libc\.musl-)/.test(path)) return 'musl'
  if (/(?:^|\/)(?:ld-linux[-.]|ld64\.so\.|ld\.so\.)/.test(path)) return 'gnu'
  return null
}

/** `'gnu'`, `'musl'` or null from a diagnostic report (`process.report.getReport()`). */
function libcOfReport(report) {
  if (!report || typeof report !== 'object') return null
  if (report.header && report.header.glibcVersionRuntime) return 'gnu'
  if (Array.isArray(report.sharedObjects) && report.sharedObjects.some((path) => libcOfLoader(path) === 'musl')) return 'musl'
  return null
}

/** `'gnu'`, `'musl'` or null from the text of the `ldd` script. */
function libcOfLdd(text) {
  if (typeof text !== 'string') return null
  if (/musl/i.test(text)) return 'musl'
  if (/GNU C Library|glibc|GLIBC/.test(text)) return 'gnu'
  return null
}

function report() {
  if (!process.report || typeof process.report.getReport !== 'function') return null
  // Without this a report may resolve host names, which can take seconds.
  const excludeNetwork = process.report.excludeNetwork
  try {
    process.report.excludeNetwork = true
    return process.report.getReport()
  } catch {
    return null
  } finally {
    process.report.excludeNetwork = excludeNetwork
  }
}

function readText(path) {
  try {
    return readFileSync(path, 'utf8')
  } catch {
    return null
  }
}

/** This process's C library on Linux: `'gnu'`, `'musl'`, or null when nothing tells. */
function linuxLibc() {
  return libcOfLoader(elfInterpreter(process.execPath)) ?? libcOfReport(report()) ?? libcOfLdd(readText('/usr/bin/ldd'))
}

/**
 * The platform names this process can load, the most likely first. The C library is asked of
 * `module.exports.linuxLibc`, so a test can simulate another system by replacing that export.
 */
function platformNames({ platform, arch } = process, libc = platform === 'linux' ? module.exports.linuxLibc() : null) {
  if (platform === 'linux') return (libc ? [libc] : ['gnu', 'musl']).map((abi) => `linux-${arch}-${abi}`)
  if (platform === 'win32') return [`win32-${arch}-msvc`]
  return [`${platform}-${arch}`]
}

module.exports = { elfInterpreter, libcOfLoader, libcOfReport, libcOfLdd, linuxLibc, platformNames }
