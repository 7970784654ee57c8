#!/usr/bin/env node
// Draws the app icon (PNG, and SVG for the inspector's favicon) and the tray icons into assets/:
// `node scripts/make-icons.js`.
//
// Only node:zlib and node:fs: the PNG encoder is the few lines below. The output is deterministic (the
// same bytes on every run with the same Node): shapes are sampled on a fixed grid with arithmetic only.
//
// Every tray state has its own shape as well as its own colour, because macOS template images are
// drawn in one colour by the system and the colour-blind cannot rely on hue either:
//   idle        an empty ring
//   connecting  a ring with its left half filled
//   online      a ring with a filled disc (the porthole)
//   error       a ring with a cross

import { mkdirSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { crc32, deflateSync } from 'node:zlib';

const OUT_DIR = resolve(import.meta.dirname, '../assets');
/** Samples per pixel along each axis: 8 x 8 = 64 coverage levels for the edges. */
const SUPERSAMPLE = 8;

/** @typedef {readonly [number, number, number]} Rgb */

/** @type {Rgb} */
const APP_COLOUR = [0x1f, 0x6f, 0xb2];
/** @type {Record<'idle' | 'connecting' | 'online' | 'error', Rgb>} */
const STATE_COLOURS = {
  idle: [0x8e, 0x8e, 0x93],
  connecting: [0xf5, 0xa5, 0x24],
  online: [0x2f, 0xb3, 0x44],
  error: [0xe5, 0x48, 0x4d],
};
/** @type {Rgb} */
const TEMPLATE_BLACK = [0, 0, 0];

// Shapes work in a unit square centred on (0, 0): x and y run from -0.5 to 0.5.
const TRAY_RING = { outer: 0.47, inner: 0.34 };
const APP_RING = { outer: 0.45, inner: 0.35 };
const DISC = 0.22;
const APP_DISC = 0.27;
const CROSS_HALF_WIDTH = 0.07;
const CROSS_REACH = 0.24;

/**
 * @param {{ outer: number, inner: number }} ring
 * @returns {(x: number, y: number) => boolean}
 */
const ringShape = (ring) => (x, y) => {
  const d2 = x * x + y * y;
  return d2 <= ring.outer * ring.outer && d2 >= ring.inner * ring.inner;
};

/** @param {number} radius @returns {(x: number, y: number) => boolean} */
const discShape = (radius) => (x, y) => x * x + y * y <= radius * radius;

/** @type {(x: number, y: number) => boolean} */
const halfDiscShape = (x, y) => x < 0 && discShape(DISC)(x, y);

/** @type {(x: number, y: number) => boolean} */
const crossShape = (x, y) => {
  if (x * x + y * y > CROSS_REACH * CROSS_REACH) return false;
  // Squared distance to the diagonals y = x and y = -x is (x - y)^2 / 2 and (x + y)^2 / 2.
  const w2 = 2 * CROSS_HALF_WIDTH * CROSS_HALF_WIDTH;
  return (x - y) * (x - y) <= w2 || (x + y) * (x + y) <= w2;
};

/** @type {Record<keyof typeof STATE_COLOURS, (x: number, y: number) => boolean>} */
const STATE_SHAPES = {
  idle: ringShape(TRAY_RING),
  connecting: (x, y) => ringShape(TRAY_RING)(x, y) || halfDiscShape(x, y),
  online: (x, y) => ringShape(TRAY_RING)(x, y) || discShape(DISC)(x, y),
  error: (x, y) => ringShape(TRAY_RING)(x, y) || crossShape(x, y),
};

/**
 * Rasterises a shape in one flat colour; alpha is the share of the pixel the shape covers.
 * @param {number} size
 * @param {(x: number, y: number) => boolean} inside
 * @param {Rgb} colour
 */
function render(size, inside, colour) {
  const rgba = Buffer.alloc(size * size * 4);
  const total = SUPERSAMPLE * SUPERSAMPLE;
  for (let py = 0; py < size; py++) {
    for (let px = 0; px < size; px++) {
      let hits = 0;
      for (let sy = 0; sy < SUPERSAMPLE; sy++) {
        const y = (py + (sy + 0.5) / SUPERSAMPLE) / size - 0.5;
        for (let sx = 0; sx < SUPERSAMPLE; sx++) {
          const x = (px + (sx + 0.5) / SUPERSAMPLE) / size - 0.5;
          if (inside(x, y)) hits++;
        }
      }
      if (hits === 0) continue; // fully transparent pixels stay 0,0,0,0
      const at = (py * size + px) * 4;
      rgba[at] = colour[0];
      rgba[at + 1] = colour[1];
      rgba[at + 2] = colour[2];
      rgba[at + 3] = Math.round((255 * hits) / total);
    }
  }
  return rgba;
}

/**
 * @param {string} type
 * @param {Buffer} data
 */
function chunk(type, data) {
  const typeAndData = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(typeAndData));
  return Buffer.concat([length, typeAndData, crc]);
}

/**
 * Encodes 8-bit RGBA (colour type 6, no interlace) with filter 0 on every row.
 * @param {number} width
 * @param {number} height
 * @param {Buffer} rgba
 */
function encodePng(width, height, rgba) {
  const stride = width * 4;
  const raw = Buffer.alloc((stride + 1) * height);
  for (let y = 0; y < height; y++) {
    rgba.copy(raw, y * (stride + 1) + 1, y * stride, (y + 1) * stride);
  }
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header[8] = 8; // bit depth
  header[9] = 6; // colour type: RGBA
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    chunk('IDAT', deflateSync(raw, { level: 9 })),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

/**
 * @param {string} name
 * @param {number} size
 * @param {(x: number, y: number) => boolean} inside
 * @param {Rgb} colour
 */
function write(name, size, inside, colour) {
  const file = resolve(OUT_DIR, name);
  const png = encodePng(size, size, render(size, inside, colour));
  writeFileSync(file, png);
  console.log(`${name.padEnd(30)} ${String(size).padStart(3)}x${size}  ${png.length} bytes`);
}

/**
 * The app icon as SVG, for the inspector page's favicon: the same ring and disc, in a 100-unit box.
 * @param {string} name
 */
function writeSvg(name) {
  const hex = `#${APP_COLOUR.map((c) => c.toString(16).padStart(2, '0')).join('')}`;
  /** @param {number} v */
  const units = (v) => Number((v * 100).toFixed(3));
  const ringRadius = units((APP_RING.outer + APP_RING.inner) / 2);
  const ringWidth = units(APP_RING.outer - APP_RING.inner);
  const svg =
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 100 100">` +
    `<circle cx="50" cy="50" r="${ringRadius}" fill="none" stroke="${hex}" stroke-width="${ringWidth}"/>` +
    `<circle cx="50" cy="50" r="${units(APP_DISC)}" fill="${hex}"/></svg>\n`;
  writeFileSync(resolve(OUT_DIR, name), svg);
  console.log(`${name.padEnd(30)} svg      ${svg.length} bytes`);
}

mkdirSync(OUT_DIR, { recursive: true });
write('icon.png', 512, (x, y) => ringShape(APP_RING)(x, y) || discShape(APP_DISC)(x, y), APP_COLOUR);
writeSvg('favicon.svg');
for (const state of /** @type {const} */ (['idle', 'connecting', 'online', 'error'])) {
  const shape = STATE_SHAPES[state];
  write(`tray-${state}.png`, 16, shape, STATE_COLOURS[state]);
  write(`tray-${state}@2x.png`, 32, shape, STATE_COLOURS[state]);
  // Electron marks an image as a macOS template by the "Template" suffix: black plus alpha only.
  write(`tray-${state}Template.png`, 16, shape, TEMPLATE_BLACK);
  write(`tray-${state}Template@2x.png`, 32, shape, TEMPLATE_BLACK);
}
