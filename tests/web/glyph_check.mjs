// Glyph ranges as crossriver serves them, read by an independent protobuf reader (npm pbf)
// against glyphs.proto: the range and the font named, every glyph's id in the range, its
// bitmap (width + 6) × (height + 6) bytes, and the signed distance field the right way round —
// inside a stroke above the edge value (191), outside below it.
// usage: node glyph_check.mjs FILE.pbf START [CHAR]
import { readFileSync } from 'node:fs';
import Pbf from 'pbf';

const [file, startArg, probe] = process.argv.slice(2);
const start = Number(startArg);
const pbf = new Pbf(readFileSync(file));
const stacks = pbf.readFields((tag, out, p) => {
  if (tag !== 1) return;
  out.push(p.readMessage((t, st, q) => {
    if (t === 1) st.name = q.readString();
    else if (t === 2) st.range = q.readString();
    else if (t === 3) st.glyphs.push(q.readMessage((g, gl, r) => {
      if (g === 1) gl.id = r.readVarint();
      else if (g === 2) gl.bitmap = r.readBytes();
      else if (g === 3) gl.width = r.readVarint();
      else if (g === 4) gl.height = r.readVarint();
      else if (g === 5) gl.left = r.readSVarint();
      else if (g === 6) gl.top = r.readSVarint();
      else if (g === 7) gl.advance = r.readVarint();
    }, {}));
  }, { glyphs: [] }));
}, []);
const fail = (m) => { console.error(`glyph_check: ${m}`); process.exit(1); };
if (stacks.length !== 1) fail(`${stacks.length} fontstacks`);
const st = stacks[0];
if (st.range !== `${start}-${start + 255}`) fail(`range ${st.range}`);
if (!/Noto Sans CJK SC/.test(st.name)) fail(`font ${st.name}`);
if (st.glyphs.length < 50) fail(`only ${st.glyphs.length} glyphs`);
for (const g of st.glyphs) {
  if (g.id < start || g.id > start + 255) fail(`glyph ${g.id} outside the range`);
  const want = g.width && g.height ? (g.width + 6) * (g.height + 6) : 0;
  if ((g.bitmap ? g.bitmap.length : 0) !== want) fail(`glyph ${g.id}: ${g.bitmap?.length} bytes, want ${want}`);
  if (g.advance <= 0 && g.id > 32) fail(`glyph ${g.id}: advance ${g.advance}`);
}
if (probe) {
  const g = st.glyphs.find((x) => x.id === probe.codePointAt(0));
  if (!g) fail(`no glyph for ${probe}`);
  const W = g.width + 6;
  const at = (x, y) => g.bitmap[y * W + x];
  // the border is outside; somewhere inside the glyph is a stroke
  if (at(0, 0) >= 191) fail(`corner inside (${at(0, 0)})`);
  if (Math.max(...g.bitmap) <= 191) fail('no pixel inside a stroke');
  if (g.top > 0 || g.top < -27) fail(`top ${g.top} for ${probe}`);
  if (process.env.GLYPH_SHOW) {
    for (let y = 0; y < g.height + 6; y++) {
      let line = '';
      for (let x = 0; x < W; x++) line += at(x, y) >= 191 ? '#' : at(x, y) >= 120 ? '+' : '.';
      console.log(line);
    }
  }
  console.log(`glyph_check: ${st.name} ${st.range}: ${st.glyphs.length} glyphs; ${probe} ${g.width}×${g.height} left ${g.left} top ${g.top} advance ${g.advance}`);
} else {
  console.log(`glyph_check: ${st.name} ${st.range}: ${st.glyphs.length} glyphs`);
}
