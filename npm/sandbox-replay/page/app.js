// The replay page: hands the chosen recording to the worker (worker.js), then shows what came
// back — the result, the byte ruler, the responses and the reconstructed stdout — rendering only
// what is on screen, so a 100 MiB recording stays responsive. No framework: plain DOM.
const $ = (id) => document.getElementById(id)
const status = $('status')
const fmt = new Intl.NumberFormat('en-US')
const KIND_COLORS = { follow: '#4a7bd0', poll: '#8e44ad', final: '#16a085' }
let worker

function setStatus(text, state) {
  status.textContent = text
  status.dataset.state = state
}

function load(file) {
  worker?.terminate()
  worker = new Worker(new URL('./worker.js', import.meta.url), { type: 'module' })
  setStatus(`Loading ${file.name} (${fmt.format(file.size)} bytes)…`, 'loading')
  worker.onmessage = ({ data }) => {
    if (data.type === 'progress') {
      const what = data.stage === 'replaying' ? `replaying response ${fmt.format(data.done)} of ${fmt.format(data.total)}` : `${data.stage}…`
      setStatus(`${file.name}: ${what}`, 'loading')
    } else if (data.type === 'error') {
      setStatus(`${file.name}: ${data.message}`, 'error')
    } else if (data.type === 'done') {
      show(file, data)
    }
  }
  worker.onerror = (event) => setStatus(`${file.name}: worker failed: ${event.message}`, 'error')
  worker.postMessage({ file })
}

$('file').addEventListener('change', (event) => {
  const file = event.target.files?.[0]
  if (file) load(file)
})
document.addEventListener('dragover', (event) => {
  event.preventDefault()
  document.body.classList.add('dragging')
})
document.addEventListener('dragleave', () => document.body.classList.remove('dragging'))
document.addEventListener('drop', (event) => {
  event.preventDefault()
  document.body.classList.remove('dragging')
  const file = event.dataTransfer?.files?.[0]
  if (file) load(file)
})

function show(file, data) {
  const stdout = new Uint8Array(data.stdout)
  const starts = new Float64Array(data.lineStarts)
  $('main').hidden = false
  $('title').textContent = `${data.name ?? file.name} — format v${data.version}, ${data.mode}, capBytes ${fmt.format(data.capBytes)}`
  $('description').textContent = data.description
  const result = { ...data.result, stdout: `<${stdout.length} bytes, sha256 ${data.sha256}>` }
  delete result.text
  const resultEl = $('result')
  resultEl.textContent = JSON.stringify(result, null, 2)
  resultEl.dataset.json = JSON.stringify({ ...data.result, text: undefined, stdoutBytes: stdout.length, stdoutSha256: data.sha256 })
  const verdict = $('verdict')
  if (data.matches === null) verdict.innerHTML = 'No <code>expect</code> in the file: nothing to check against.'
  else if (data.matches) verdict.innerHTML = '<span class="ok">✓ identical to what the recorded run\'s accumulator reported</span>'
  else verdict.innerHTML = `<span class="bad">✗ differs from the recorded run:</span> ${data.differences.map(escape).join('; ')}`
  verdict.dataset.matches = String(data.matches)
  const native = data.meta
    ? { recorder: data.meta.recorder, pod: data.meta.pod, response: data.meta.response, otherReads: data.meta.otherReads.length }
    : null
  $('native').textContent = native ? JSON.stringify(native, null, 2) : ''
  drawRuler(data.reads, data.capBytes)
  showReads(data.reads)
  showStdout(stdout, starts)
  $('stdout-info').textContent = `${fmt.format(stdout.length)} bytes, ${fmt.format(starts.length)} lines, sha256 ${data.sha256}`
  $('stdout-info').dataset.sha256 = data.sha256
  setStatus(`${file.name}: ${fmt.format(data.reads.length)} responses replayed in ${fmt.format(data.ms)} ms`, 'done')
}

function escape(text) {
  return String(text).replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c])
}

function drawRuler(reads, capBytes) {
  const canvas = $('ruler')
  const width = canvas.clientWidth
  const ratio = window.devicePixelRatio || 1
  canvas.width = width * ratio
  canvas.height = 84 * ratio
  const g = canvas.getContext('2d')
  g.scale(ratio, ratio)
  const total = Math.max(1, ...reads.map((r) => r.streamEnd))
  const x = (offset) => 8 + (offset / total) * (width - 16)
  g.font = '11px system-ui'
  g.fillStyle = '#556'
  g.fillText('0', 8, 12)
  g.textAlign = 'right'
  g.fillText(`${fmt.format(total)} bytes`, width - 8, 12)
  g.textAlign = 'left'
  if (capBytes < total) {
    g.strokeStyle = '#c0392b'
    g.beginPath()
    g.moveTo(x(capBytes), 16)
    g.lineTo(x(capBytes), 64)
    g.stroke()
    g.fillStyle = '#c0392b'
    g.fillText('cap', x(capBytes) + 3, 26)
  }
  reads.forEach((read, i) => {
    const from = x(read.streamStart)
    const to = Math.max(from + 1, x(read.streamEnd))
    g.fillStyle = KIND_COLORS[read.kind] ?? '#4a7bd0'
    g.globalAlpha = i % 2 ? 0.65 : 1
    // Responses alternate between two lanes so that neighbours stay distinguishable.
    g.fillRect(from, i % 2 ? 40 : 22, to - from, 16)
    g.globalAlpha = 1
    g.strokeStyle = '#1d2330'
    g.beginPath()
    g.moveTo(from, 20)
    g.lineTo(from, 58)
    g.stroke()
    if (read.gaps > 0) marker(g, x(read.streamStart), 70, '▲', '#c0392b')
    if (read.rotations > 0) marker(g, x(read.streamStart), 82, '◆', '#e67e22')
  })
  canvas.onmousemove = (event) => {
    const offset = ((event.offsetX - 8) / (width - 16)) * total
    const read = reads.find((r) => offset >= r.streamStart && offset < r.streamEnd)
    $('ruler-tip').textContent = read
      ? `response #${read.index} (${read.kind ?? 'read'}, ${read.how}): stream bytes ${fmt.format(read.streamStart)}..${fmt.format(read.streamEnd)}`
      : ''
  }
}

function marker(g, at, y, glyph, color) {
  g.fillStyle = color
  g.textAlign = 'center'
  g.fillText(glyph, at, y)
  g.textAlign = 'left'
}

/** A scroll container that renders only the rows in view. */
function virtualList(container, count, rowHeight, render) {
  const spacer = container.querySelector('.spacer')
  spacer.style.height = `${count * rowHeight}px`
  for (const old of container.querySelectorAll('.row, .line')) old.remove()
  let drawn = new Map()
  const paint = () => {
    const first = Math.max(0, Math.floor(container.scrollTop / rowHeight) - 5)
    const last = Math.min(count, Math.ceil((container.scrollTop + container.clientHeight) / rowHeight) + 5)
    const keep = new Map()
    for (let i = first; i < last; i++) {
      let el = drawn.get(i)
      if (!el) {
        el = render(i)
        el.style.top = `${i * rowHeight}px`
        container.appendChild(el)
      }
      keep.set(i, el)
    }
    for (const [i, el] of drawn) if (!keep.has(i)) el.remove()
    drawn = keep
  }
  container.onscroll = () => requestAnimationFrame(paint)
  container.scrollTop = 0
  paint()
}

function span(text, cls) {
  const el = document.createElement('span')
  el.textContent = text
  if (cls) el.className = cls
  return el
}

function showReads(reads) {
  $('reads-count').textContent = `${fmt.format(reads.length)} fed to the accumulator`
  const n = (v) => (v === undefined ? '–' : fmt.format(v))
  virtualList($('reads'), reads.length, 22, (i) => {
    const r = reads[i]
    const row = document.createElement('div')
    row.className = `row${r.gaps > 0 ? ' gap' : ''}${r.rotations > 0 ? ' rot' : ''}`
    row.append(
      span(String(r.index)),
      span(r.kind ?? '–'),
      span(r.how),
      span(r.atMs === null ? '–' : fmt.format(r.atMs)),
      span(r.query?.sinceTime ?? (r.query ? 'from start' : '–')),
      span(n(r.wire), 'n'),
      span(n(r.accepted), 'n'),
      span(n(r.duplicate), 'n'),
      span(n(r.skipped), 'n'),
      span(n(r.framing), 'n'),
    )
    const bar = document.createElement('span')
    bar.className = 'bar'
    const wire = r.wire || 1
    for (const [field, color] of [['accepted', 'var(--accepted)'], ['duplicate', 'var(--duplicate)'], ['skipped', 'var(--skipped)'], ['framing', 'var(--framing)']]) {
      const part = document.createElement('i')
      part.style.width = `${(100 * (r[field] ?? 0)) / wire}%`
      part.style.background = color
      part.title = `${field} ${fmt.format(r[field] ?? 0)}`
      bar.append(part)
    }
    const notes = []
    if (r.rotations > 0) notes.push(`rotation +${r.rotations}`)
    if (r.gaps > 0) notes.push(`gap +${r.gaps}`)
    if (r.malformed > 0) notes.push(`malformed +${r.malformed}`)
    if (r.error) notes.push(r.error)
    row.append(bar, span(`${fmt.format(r.streamStart)}..${fmt.format(r.streamEnd)}`), span(notes.join(', ')))
    return row
  })
}

const decoder = new TextDecoder()
const MAX_LINE_CHARS = 4000

function showStdout(stdout, starts) {
  virtualList($('stdout'), starts.length, 18, (i) => {
    const from = starts[i]
    const to = i + 1 < starts.length ? starts[i + 1] - 1 : stdout.length
    let text = decoder.decode(stdout.subarray(from, Math.min(to, from + MAX_LINE_CHARS * 4)))
    if (text.length > MAX_LINE_CHARS) text = `${text.slice(0, MAX_LINE_CHARS)}… (${fmt.format(to - from)} bytes)`
    const line = document.createElement('div')
    line.className = 'line'
    const number = document.createElement('b')
    number.textContent = String(i + 1)
    line.append(number, text)
    return line
  })
}
