// Decode a tile with @mapbox/vector-tile + pbf (independent of crossriver) and compare it with
// what the C test put in (expected.json): layers, extents, ids, types, typed properties and
// geometry (rings closed, as the decoder returns them). Also checks the spec's winding rule
// itself: exterior rings positive area (surveyor's formula, tile coordinates), holes negative.
import { readFileSync } from 'node:fs';
import { VectorTile } from '@mapbox/vector-tile';
import Protobuf from 'pbf';

const [tilePath, expectedPath] = process.argv.slice(2);
const tile = new VectorTile(new Protobuf(new Uint8Array(readFileSync(tilePath)))) // own ArrayBuffer: pbf reads doubles through a DataView on .buffer;
const expected = JSON.parse(readFileSync(expectedPath, 'utf8'));
let failures = 0;
const fail = (msg) => { console.error('mvt_check: ' + msg); failures++; };
const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);

const area = (ring) => {
  let s = 0;
  for (let i = 0; i < ring.length - 1; i++) s += ring[i].x * ring[i + 1].y - ring[i + 1].x * ring[i].y;
  return s / 2;
};

const names = Object.keys(tile.layers).sort();
const wantNames = Object.keys(expected).sort();
if (!same(names, wantNames)) fail(`layers ${names} != ${wantNames}`);
let checked = 0;
for (const name of wantNames) {
  const layer = tile.layers[name];
  if (!layer) continue;
  const want = expected[name];
  if (layer.extent !== 4096) fail(`${name}: extent ${layer.extent}`);
  if (layer.version !== 2) fail(`${name}: version ${layer.version}`);
  if (layer.length !== want.length) fail(`${name}: ${layer.length} features, want ${want.length}`);
  for (let i = 0; i < Math.min(layer.length, want.length); i++) {
    const f = layer.feature(i);
    const w = want[i];
    const where = `${name}[${i}]`;
    if ((f.id ?? null) !== (w.id ?? null)) fail(`${where}: id ${f.id} != ${w.id}`);
    if (f.type !== w.type) fail(`${where}: type ${f.type} != ${w.type}`);
    if (!same(f.properties, w.properties)) fail(`${where}: properties ${JSON.stringify(f.properties)} != ${JSON.stringify(w.properties)}`);
    const geom = f.loadGeometry().map((r) => r.map((p) => [p.x, p.y]));
    if (!same(geom, w.geometry)) fail(`${where}: geometry ${JSON.stringify(geom)} != ${JSON.stringify(w.geometry)}`);
    if (f.type === 3) {
      f.loadGeometry().forEach((ring, k) => {
        const a = area(ring);
        if (a === 0) fail(`${where}: ring ${k} has zero area`);
        if ((a > 0) !== w.exterior[k]) fail(`${where}: ring ${k} area ${a}, exterior=${w.exterior[k]}`);
      });
    }
    checked++;
  }
}
if (checked === 0) fail('nothing checked');
if (failures) process.exit(1);
console.log(`mvt_check: ${checked} features in ${names.length} layers agree`);
