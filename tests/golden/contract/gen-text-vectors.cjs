// Generates text-vectors.jsonl: the spec §2.6/§5.4 regexes and capText rule
// evaluated by V8 (node tests/golden/contract/gen-text-vectors.cjs). The Rust
// test crates/contract/tests/v8_vectors.rs checks the crate against them.
const ANSI_CSI_RE = /\x1b\[[0-9;?]*[ -/]*[@-~]/g;
const ANSI_OSC_BEL_RE = /\x1b\][^\x07]*\x07/g;
const ANSI_OSC_ST_RE = /\x1b\][^\x1b]*\x1b\\/g;
const ESC_AND_CONTROL_RE = /[\x07\x08\x0b\x0c\x0e-\x1a\x1c-\x1f]/g;
const EGRESS = /403 Filtered|Tunnel connection failed|ProxyError|connection refused/i;
const PKG = /no matching distribution|could not find a version|unsatisfiable|404 Not Found|E404|No matching distribution found/i;
const strip = t => t.replace(ANSI_OSC_BEL_RE,'').replace(ANSI_OSC_ST_RE,'').replace(ANSI_CSI_RE,'').replace(ESC_AND_CONTROL_RE,'').replace(/\r\n/g,'\n').replace(/\r/g,'\n');
const phases = t => t.split('\n').filter(l => l !== 'PHASE: installing' && l !== 'PHASE: running').join('\n');
const cap = (t, m) => { const b = Buffer.from(t); if (b.byteLength <= m) return [t,false]; return [b.subarray(0,m).toString('utf8').replace(/\uFFFD+$/,''), true]; };
const alpha = ['a','\x1b','[',']','\x07','\\','\r','\n','1',';','?',' ','/','@','~','m','\x08','\x1f','\x7f','é','€','😀','\uFFFD','PHASE: running','K','k','illed','\u212A','403 Filtered','proxyerror','E404','ſ'];
let seed = 42; const rnd = n => { seed = (seed * 1103515245 + 12345) & 0x7fffffff; return Math.floor(seed / 65536) % n; };
const out = [];
for (let i = 0; i < 1500; i++) {
  let s = ''; const n = rnd(25); for (let j = 0; j < n; j++) s += alpha[rnd(alpha.length)];
  const m = rnd(40);
  const [c, cut] = cap(s, m);
  out.push(JSON.stringify({s, strip: strip(s), phases: phases(s), m, cap: c, cut, killed: /killed/i.test(s), egress: EGRESS.test(s), pkg: PKG.test(s)}));
}
require('fs').writeFileSync(require('path').join(__dirname, 'text-vectors.jsonl'), out.join('\n') + '\n');
