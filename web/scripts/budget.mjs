#!/usr/bin/env node
// The event page's first-load JavaScript budget: the entry script of dist/index.html and every
// chunk it preloads, gzipped, must stay at most 150 KB (the organiser console, charts and the
// door scanner are lazy chunks and do not count).
import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';

const LIMIT = 150 * 1024;
const dist = new URL('../dist/', import.meta.url);
const html = readFileSync(new URL('index.html', dist), 'utf8');
const files = [...html.matchAll(/(?:src|href)="\/(assets\/[^"]+\.js)"/g)].map((m) => m[1]);
let total = 0;
for (const f of files) {
  const size = gzipSync(readFileSync(new URL(f, dist)), { level: 9 }).length;
  total += size;
  console.log(`${f}: ${(size / 1024).toFixed(1)} KB gzipped`);
}
console.log(`event page first load: ${(total / 1024).toFixed(1)} KB of gzipped JavaScript (budget ${LIMIT / 1024} KB)`);
if (inline(html)) {
  console.error('index.html has an inline script or style: the CSP forbids it');
  process.exit(1);
}
if (!html.includes('<!--app-head-->')) {
  console.error('index.html lost its <!--app-head--> marker');
  process.exit(1);
}
if (total > LIMIT) process.exit(1);

function inline(text) {
  return /<script(?![^>]*\bsrc=)[^>]*>/.test(text) || /<style[\s>]/.test(text) || /\sstyle="/.test(text);
}
