// The loader's choice of platform package (npm/sandbox-native/platform.js): how it tells glibc
// from musl on Linux, and that a source that says nothing is "unknown", never "musl".
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, test } from 'node:test'

import { repoRoot } from '../shared/node-helpers.js'

const mainDir = join(repoRoot, 'npm', 'sandbox-native')
const { elfInterpreter, libcOfLdd, libcOfLoader, libcOfReport, linuxLibc, platformNames } = createRequire(import.meta.url)(
  join(mainDir, 'platform.js'),
)

test('a diagnostic report: glibc by its header, musl by a loaded musl library, otherwise unknown', () => {
  assert.equal(libcOfReport({ header: { glibcVersionRuntime: '2.36' }, sharedObjects: [] }), 'gnu')
  assert.equal(libcOfReport({ header: {}, sharedObjects: ['/lib/ld-musl-x86_64.so.1', '/usr/bin/node'] }), 'musl')
  // No report, or one that names no C library, proves nothing.
  assert.equal(libcOfReport(null), null)
  assert.equal(libcOfReport(undefined), null)
  assert.equal(libcOfReport({}), null)
  assert.equal(libcOfReport({ header: {}, sharedObjects: ['/usr/bin/node'] }), null)
})

test('a loader path names its C library', () => {
  for (const path of ['/lib64/ld-linux-x86-64.so.2', '/lib/ld-linux-aarch64.so.1', '/lib/ld-linux-armhf.so.3', '/lib/ld-linux.so.2', '/lib64/ld64.so.2']) {
    assert.equal(libcOfLoader(path), 'gnu', path)
  }
  for (const path of ['/lib/ld-musl-x86_64.so.1', '/lib/ld-musl-aarch64.so.1', '/usr/lib/libc.musl-x86_64.so.1']) {
    assert.equal(libcOfLoader(path), 'musl', path)
  }
  for (const path of [null, '', '/usr/lib/libstdc++.so.6', '/opt/ld-linuxish/ld']) assert.equal(libcOfLoader(path), null, path)
})

test('the ldd script names its C library', () => {
  assert.equal(libcOfLdd('#! /bin/bash\n# Copyright (C) 1996-2024 Free Software Foundation, Inc.\n# This file is part of the GNU C Library.\n'), 'gnu')
  assert.equal(libcOfLdd('#!/bin/sh\nexec /lib/ld-musl-x86_64.so.1 --list "$@"\n'), 'musl')
  assert.equal(libcOfLdd(null), null)
  assert.equal(libcOfLdd('#!/bin/sh\n'), null)
})

test("the ELF interpreter of this Node agrees with the report's header", () => {
  const interpreter = elfInterpreter(process.execPath)
  const fromReport = libcOfReport(process.report.getReport())
  if (interpreter === null) return // a statically linked Node has none
  assert.ok(interpreter.startsWith('/'), interpreter)
  if (fromReport !== null) assert.equal(libcOfLoader(interpreter), fromReport)
  assert.equal(linuxLibc(), libcOfLoader(interpreter))
  assert.equal(elfInterpreter(join(mainDir, 'package.json')), null)
  assert.equal(elfInterpreter(join(mainDir, 'no such file')), null)
})

/** A minimal ELF file whose only program header is PT_INTERP naming `interpreter`. */
function elfWithInterpreter(interpreter, { is64, little }) {
  const [headerSize, entrySize] = is64 ? [64, 56] : [52, 32]
  const name = Buffer.from(`${interpreter}\0`, 'latin1')
  const file = Buffer.alloc(headerSize + entrySize + name.length)
  file.write('\x7fELF', 0, 'latin1')
  file[4] = is64 ? 2 : 1
  file[5] = little ? 1 : 2
  const u16 = (value, at) => (little ? file.writeUInt16LE(value, at) : file.writeUInt16BE(value, at))
  const u32 = (value, at) => (little ? file.writeUInt32LE(value, at) : file.writeUInt32BE(value, at))
  const word = (value, at) => (is64 ? (little ? file.writeBigUInt64LE(BigInt(value), at) : file.writeBigUInt64BE(BigInt(value), at)) : u32(value, at))
  word(headerSize, is64 ? 0x20 : 0x1c)
  u16(entrySize, is64 ? 0x36 : 0x2a)
  u16(1, is64 ? 0x38 : 0x2c)
  u32(3, headerSize)
  word(headerSize + entrySize, headerSize + (is64 ? 0x08 : 0x04))
  word(name.length, headerSize + (is64 ? 0x20 : 0x10))
  name.copy(file, headerSize + entrySize)
  return file
}

test('the ELF interpreter is read from 64- and 32-bit, little- and big-endian files', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tale-sandbox-elf-'))
  after(() => rmSync(dir, { recursive: true, force: true }))
  for (const is64 of [true, false]) {
    for (const little of [true, false]) {
      const file = join(dir, `elf-${is64}-${little}`)
      writeFileSync(file, elfWithInterpreter('/lib/ld-musl-x86_64.so.1', { is64, little }))
      assert.equal(elfInterpreter(file), '/lib/ld-musl-x86_64.so.1', file)
    }
  }
})

test('platform names: one per known C library, both (glibc first) when it is unknown', () => {
  assert.deepEqual(platformNames({ platform: 'linux', arch: 'x64' }, 'gnu'), ['linux-x64-gnu'])
  assert.deepEqual(platformNames({ platform: 'linux', arch: 'arm64' }, 'musl'), ['linux-arm64-musl'])
  assert.deepEqual(platformNames({ platform: 'linux', arch: 'x64' }, null), ['linux-x64-gnu', 'linux-x64-musl'])
  assert.deepEqual(platformNames({ platform: 'darwin', arch: 'arm64' }), ['darwin-arm64'])
  assert.deepEqual(platformNames({ platform: 'win32', arch: 'x64' }), ['win32-x64-msvc'])
})
