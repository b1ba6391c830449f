// Print {layer: feature count} of a tile decoded by @mapbox/vector-tile + pbf, for the tile
// test to compare with GDAL's reading of the same bytes.
import { readFileSync } from 'node:fs';
import { VectorTile } from '@mapbox/vector-tile';
import Protobuf from 'pbf';

const tile = new VectorTile(new Protobuf(new Uint8Array(readFileSync(process.argv[2]))));
const out = {};
for (const [name, layer] of Object.entries(tile.layers)) {
  if (layer.extent !== 4096 || layer.version !== 2) throw new Error(`${name}: extent/version`);
  for (let i = 0; i < layer.length; i++) layer.feature(i).loadGeometry(); // must decode
  out[name] = layer.length;
}
console.log(JSON.stringify(out));
