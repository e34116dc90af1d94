import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, resolve } from "node:path";

/**
 * Draws Crondeck's mark, a white clock face on an indigo rounded square, and writes it twice
 * from the one geometry below: app/icon.svg (the icon pages link, through Next.js's file
 * convention) and public/favicon.ico (16, 32 and 48 px, for browsers and tools that ask for
 * /favicon.ico). Run `npx tsx scripts/favicon.ts` after changing the mark; both files are committed.
 */

const root = resolve(import.meta.dirname, "..");

/** The mark on a 32-unit square. */
const MARK = {
  size: 32,
  corner: 7,
  background: [0x43, 0x38, 0xca] as const, // indigo
  foreground: [0xff, 0xff, 0xff] as const,
  ring: { cx: 16, cy: 16, r: 10, width: 3 },
  hands: [
    { x1: 16, y1: 16, x2: 16, y2: 9.5 },
    { x1: 16, y1: 16, x2: 21, y2: 16 },
  ],
  handWidth: 3,
};

const hex = (rgb: readonly number[]) => `#${rgb.map((c) => c.toString(16).padStart(2, "0")).join("")}`;

export function markSvg(): string {
  const { size, corner, ring, hands, handWidth } = MARK;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${size} ${size}" width="${size}" height="${size}">`,
    `  <title>Crondeck</title>`,
    `  <rect width="${size}" height="${size}" rx="${corner}" fill="${hex(MARK.background)}"/>`,
    `  <circle cx="${ring.cx}" cy="${ring.cy}" r="${ring.r}" fill="none" stroke="${hex(MARK.foreground)}" stroke-width="${ring.width}"/>`,
    `  <path d="${hands.map((h) => `M${h.x1} ${h.y1}L${h.x2} ${h.y2}`).join("")}" stroke="${hex(MARK.foreground)}" stroke-width="${handWidth}" stroke-linecap="round"/>`,
    `</svg>`,
    "",
  ].join("\n");
}

function insideRoundedSquare(x: number, y: number): boolean {
  const { size, corner } = MARK;
  if (x < 0 || y < 0 || x > size || y > size) return false;
  const cx = Math.min(Math.max(x, corner), size - corner);
  const cy = Math.min(Math.max(y, corner), size - corner);
  return (x - cx) ** 2 + (y - cy) ** 2 <= corner ** 2;
}

function distanceToSegment(x: number, y: number, s: { x1: number; y1: number; x2: number; y2: number }): number {
  const dx = s.x2 - s.x1;
  const dy = s.y2 - s.y1;
  const t = Math.max(0, Math.min(1, ((x - s.x1) * dx + (y - s.y1) * dy) / (dx * dx + dy * dy)));
  return Math.hypot(x - (s.x1 + t * dx), y - (s.y1 + t * dy));
}

function onForeground(x: number, y: number): boolean {
  const { ring, hands, handWidth } = MARK;
  if (Math.abs(Math.hypot(x - ring.cx, y - ring.cy) - ring.r) <= ring.width / 2) return true;
  return hands.some((h) => distanceToSegment(x, y, h) <= handWidth / 2);
}

/** The mark at `px` pixels square, RGBA, top row first, anti-aliased with 8×8 samples a pixel. */
export function markPixels(px: number): Uint8Array {
  const out = new Uint8Array(px * px * 4);
  const n = 8;
  const scale = MARK.size / px;
  for (let row = 0; row < px; row++) {
    for (let col = 0; col < px; col++) {
      let inside = 0;
      let fg = 0;
      for (let i = 0; i < n; i++) {
        for (let j = 0; j < n; j++) {
          const x = (col + (j + 0.5) / n) * scale;
          const y = (row + (i + 0.5) / n) * scale;
          if (!insideRoundedSquare(x, y)) continue;
          inside++;
          if (onForeground(x, y)) fg++;
        }
      }
      const k = (row * px + col) * 4;
      const f = inside ? fg / inside : 0;
      for (let c = 0; c < 3; c++) out[k + c] = Math.round(MARK.background[c] * (1 - f) + MARK.foreground[c] * f);
      out[k + 3] = Math.round((inside / (n * n)) * 255);
    }
  }
  return out;
}

/** An ICO file of 32-bit BMP images (BITMAPINFOHEADER, BGRA bottom-up, an empty AND mask), one per size. */
export function icoOf(sizes: number[]): Buffer {
  const images = sizes.map((px) => {
    const rgba = markPixels(px);
    const maskRow = Math.ceil(px / 32) * 4;
    const image = Buffer.alloc(40 + px * px * 4 + maskRow * px);
    image.writeUInt32LE(40, 0); // biSize
    image.writeInt32LE(px, 4); // width
    image.writeInt32LE(px * 2, 8); // height: the colour rows and the mask rows
    image.writeUInt16LE(1, 12); // planes
    image.writeUInt16LE(32, 14); // bits per pixel
    image.writeUInt32LE(0, 16); // BI_RGB
    image.writeUInt32LE(px * px * 4 + maskRow * px, 20);
    for (let row = 0; row < px; row++) {
      const src = (px - 1 - row) * px * 4; // bottom-up
      for (let col = 0; col < px; col++) {
        const d = 40 + (row * px + col) * 4;
        const s = src + col * 4;
        image[d] = rgba[s + 2]!;
        image[d + 1] = rgba[s + 1]!;
        image[d + 2] = rgba[s]!;
        image[d + 3] = rgba[s + 3]!;
      }
    }
    return { px, image };
  });
  const header = Buffer.alloc(6 + 16 * images.length);
  header.writeUInt16LE(0, 0);
  header.writeUInt16LE(1, 2); // icon
  header.writeUInt16LE(images.length, 4);
  let offset = header.length;
  images.forEach(({ px, image }, i) => {
    const e = 6 + 16 * i;
    header.writeUInt8(px >= 256 ? 0 : px, e);
    header.writeUInt8(px >= 256 ? 0 : px, e + 1);
    header.writeUInt8(0, e + 2); // no palette
    header.writeUInt8(0, e + 3);
    header.writeUInt16LE(1, e + 4); // planes
    header.writeUInt16LE(32, e + 6); // bits per pixel
    header.writeUInt32LE(image.length, e + 8);
    header.writeUInt32LE(offset, e + 12);
    offset += image.length;
  });
  return Buffer.concat([header, ...images.map((i) => i.image)]);
}

export const ICON_SIZES = [16, 32, 48];

function write(path: string, data: string | Buffer): void {
  const full = resolve(root, path);
  mkdirSync(dirname(full), { recursive: true });
  writeFileSync(full, data);
  console.log(`wrote ${path} (${Buffer.byteLength(data)} bytes)`);
}

if (process.argv[1] && resolve(process.argv[1]) === resolve(import.meta.filename)) {
  write("app/icon.svg", markSvg());
  write("public/favicon.ico", icoOf(ICON_SIZES));
}
