// SPDX-License-Identifier: MIT
// Check crossriver's GCJ-02 / BD-09 formulas (lines from gcj_dump on stdin) against the
// independent gcoord implementation: same forward shifts, and our inverse maps back onto the
// GCJ-02 point within 1 cm by gcoord's forward formula.
import { createRequire } from "node:module";
import { readFileSync } from "node:fs";

const require = createRequire(import.meta.url);
let gcoord;
try {
  gcoord = require("gcoord");
} catch (e) {
  console.error("gcoord is not installed: run `npm ci` in the repository root");
  process.exit(1);
}
const metres = (a, b) => {
  const kx = 111320 * Math.cos((a[1] * Math.PI) / 180);
  return Math.hypot((a[0] - b[0]) * kx, (a[1] - b[1]) * 110540);
};
let passed = 0;
let failed = 0;
const check = (ok, what) => {
  if (ok) passed++;
  else {
    failed++;
    if (failed < 10) console.error("FAIL", what);
  }
};
for (const line of readFileSync(0, "utf8").trim().split("\n")) {
  const [lon, lat, glon, glat, wlon, wlat, blon, blat] = line.split(" ").map(Number);
  const g = gcoord.transform([lon, lat], gcoord.WGS84, gcoord.GCJ02);
  check(metres(g, [glon, glat]) < 0.001, `forward ${lon},${lat}: ${g} vs ${glon},${glat}`);
  const back = gcoord.transform([wlon, wlat], gcoord.WGS84, gcoord.GCJ02);
  check(metres(back, [glon, glat]) < 0.01, `inverse ${glon},${glat}: ${metres(back, [glon, glat])} m`);
  check(metres([wlon, wlat], [lon, lat]) < 0.01, `round trip ${lon},${lat}`);
  const b = gcoord.transform([glon, glat], gcoord.GCJ02, gcoord.BD09);
  check(metres(b, [blon, blat]) < 0.001, `bd09 ${glon},${glat}: ${b} vs ${blon},${blat}`);
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 && passed > 0 ? 0 : 1);
