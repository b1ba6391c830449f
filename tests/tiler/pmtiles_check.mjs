// Read a PMTiles archive with the npm `pmtiles` reader (independent of crossriver) and compare
// it with the tiles crossriver renders: list lines "z x y tile_id path" (path "-": an empty
// tile, absent from the archive). Checks the header (v3, MVT, gzip, clustered, zooms, bounds),
// the metadata's vector_layers, our tile IDs against zxyToTileId, and every tile's bytes.
import { readFileSync, openSync, readSync, fstatSync } from 'node:fs';
import { PMTiles, zxyToTileId } from 'pmtiles';

const [archive, listPath, layersWanted] = process.argv.slice(2);
const fd = openSync(archive, 'r');
const size = fstatSync(fd).size;
let reads = 0;
const source = {
  getKey: () => archive,
  getBytes: async (offset, length) => {
    reads++;
    const n = Math.max(0, Math.min(length, size - offset));
    const buf = Buffer.alloc(n);
    readSync(fd, buf, 0, n, offset);
    return { data: buf.buffer.slice(buf.byteOffset, buf.byteOffset + n) };
  },
};
const p = new PMTiles(source);
let failures = 0;
const fail = (msg) => { if (failures++ < 10) console.error('pmtiles_check: ' + msg); };
const h = await p.getHeader();
if (h.specVersion !== 3) fail(`spec version ${h.specVersion}`);
if (h.tileType !== 1) fail(`tile type ${h.tileType}, not MVT`);
if (h.tileCompression !== 2 || h.internalCompression !== 2) fail('not gzip');
if (!h.clustered) fail('not clustered');
if (!(h.minLon < h.maxLon && h.minLat < h.maxLat)) fail('bounds');
const meta = await p.getMetadata();
const names = (meta.vector_layers || []).map((l) => l.id).sort().join(',');
if (layersWanted && names !== layersWanted) fail(`vector_layers ${names}, wanted ${layersWanted}`);
let tiles = 0, empty = 0;
for (const line of readFileSync(listPath, 'utf8').split('\n').filter(Boolean)) {
  const [z, x, y, id, path] = line.split(' ');
  if (zxyToTileId(+z, +x, +y) !== +id) fail(`${z}/${x}/${y}: tile id ${id}, pmtiles says ${zxyToTileId(+z, +x, +y)}`);
  const got = await p.getZxy(+z, +x, +y);
  if (path === '-') {
    empty++;
    if (got !== undefined) fail(`${z}/${x}/${y}: in the archive, but the tile is empty`);
    continue;
  }
  tiles++;
  const want = readFileSync(path);
  if (!got) { fail(`${z}/${x}/${y}: missing`); continue; }
  if (Buffer.compare(Buffer.from(got.data), want) !== 0) fail(`${z}/${x}/${y}: ${got.data.byteLength} bytes differ from crossriver's ${want.length}`);
}
if (h.numTileEntries > h.numAddressedTiles || h.numTileContents > h.numTileEntries) fail('counts');
if (h.numAddressedTiles !== tiles) fail(`${h.numAddressedTiles} addressed tiles, ${tiles} expected`);
if (failures) { console.error(`pmtiles_check: ${failures} failures`); process.exit(1); }
console.log(`pmtiles_check: ${tiles} tiles equal (and ${empty} empty absent), ${h.numTileEntries} entries, ${h.numTileContents} distinct contents, leaves ${h.leafDirectoryLength} bytes, ${reads} reads`);
