// Generates scanner-vectors.jsonl: chunked byte streams and the events of the
// spec §5.5 scanner, with a streaming TextDecoder as in V8/Node, for inputs
// where the TypeScript and Rust scanners must agree (budget never reached,
// lines far below 64 KiB). Run: node tests/golden/contract/gen-scanner-vectors.cjs
const pieces = ['a', 'b', '\n', '\r', 'PHASE: running', 'PHASE: installing', 'é', '€', '😀'].map(s => [...Buffer.from(s)]);
const junk = [[0xff], [0xc3], [0xe2, 0x82], [0xf0, 0x9f, 0x98], [0x80], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xc0, 0xaf]];
let seed = 7; const rnd = n => { seed = (seed * 1103515245 + 12345) & 0x7fffffff; return Math.floor(seed / 65536) % n; };
const out = [];
for (let i = 0; i < 600; i++) {
  let bytes = [];
  const n = rnd(30);
  for (let j = 0; j < n; j++) bytes = bytes.concat(rnd(5) === 0 ? junk[rnd(junk.length)] : pieces[rnd(pieces.length)]);
  const chunks = [];
  let at = 0;
  while (at < bytes.length) { const len = 1 + rnd(6); chunks.push(bytes.slice(at, at + len)); at += len; }
  const events = [];
  const dec = new TextDecoder('utf-8', { fatal: false });
  let buf = '';
  const line = l => {
    if (l === 'PHASE: installing') events.push({ phase: 'installing' });
    else if (l === 'PHASE: running') events.push({ phase: 'running' });
    else events.push({ delta: l + '\n' });
  };
  for (const c of chunks) {
    buf += dec.decode(Uint8Array.from(c), { stream: true });
    let nl;
    while ((nl = buf.indexOf('\n')) !== -1) { line(buf.slice(0, nl)); buf = buf.slice(nl + 1); }
  }
  buf += dec.decode();
  if (buf.length > 0) {
    if (buf === 'PHASE: installing') events.push({ phase: 'installing' });
    else if (buf === 'PHASE: running') events.push({ phase: 'running' });
    else events.push({ delta: buf });
  }
  out.push(JSON.stringify({ chunks, events }));
}
require('fs').writeFileSync(require('path').join(__dirname, 'scanner-vectors.jsonl'), out.join('\n') + '\n');
