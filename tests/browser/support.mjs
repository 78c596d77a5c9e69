// What the browser tests of `polku serve` share: starting the demo server on a free loopback
// port, running axe-core on a page, and keeping screenshots.

import assert from 'node:assert/strict';
import { once } from 'node:events';
import { execFileSync, spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync, readSync, rmSync } from 'node:fs';
import { chromium } from 'playwright-core';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));
export const REPO_ROOT = resolve(HERE, '..', '..');
export const ARTIFACTS = join(HERE, 'artifacts');
const AXE_PATH = join(HERE, 'node_modules', 'axe-core', 'axe.min.js');

/**
 * Starts `polku serve` on the Keusote model (or `model`) with `clients` demo clients and its database in
 * `work`. Resolves once it prints its address; `token(role)` is the demo token it printed for a
 * role, `output()` everything it wrote so far.
 */
export async function startServer(work, clients, model = 'processes/keusote') {
  const bin = resolve(process.cwd(), process.env.POLKU_BIN ?? '');
  const child = spawn(bin, [
    'serve', '--model', model, '--database', `sqlite://${work}/polku.sqlite`,
    '--demo-clients', String(clients), '--listen', '127.0.0.1:0',
  ], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  process.once('exit', () => child.kill('SIGKILL'));
  let stdout = '';
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk) => { stderr += chunk; });
  child.stdout.setEncoding('utf8');
  const origin = await new Promise((resolveOrigin, reject) => {
    const timer = setTimeout(() => reject(new Error(`no address printed:\n${stdout}\n${stderr}`)), 120_000);
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
      const match = stdout.match(/http:\/\/127\.0\.0\.1:(\d+)\//);
      if (match) { clearTimeout(timer); resolveOrigin(`http://127.0.0.1:${match[1]}`); }
    });
    child.once('exit', (code) => reject(new Error(`polku serve exited (${code}):\n${stderr}`)));
  });
  const token = (role) => {
    const line = stderr.split('\n').find((l) => l.trim().startsWith(`${role} `));
    assert.ok(line, `no ${role} token printed:\n${stderr}`);
    return line.trim().split(/\s+/)[1];
  };
  return { child, origin, token, output: () => stdout + stderr };
}

/** Runs axe-core on the page and fails on any violation. */
export async function axe(page, label) {
  await page.addScriptTag({ path: AXE_PATH });
  const result = await page.evaluate(async () => {
    const r = await window.axe.run(document);
    return r.violations.map((v) => `${v.impact} ${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(' ')).slice(0, 3).join('; ')})`);
  });
  assert.deepEqual(result, [], `${label}: accessibility violations`);
}

/** A full-page screenshot in artifacts/; with `glance`, also what shows without scrolling. */
export async function shot(page, name, glance = false) {
  mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
  if (glance) await page.screenshot({ path: join(ARTIFACTS, `${name}-glance.png`) });
}

/**
 * The regions of a running process's memory that hold `needle`: every readable mapping read
 * through /proc/PID/mem, as a dump of the process would see it. Returns `path@address` of each.
 */
export function memoryHolding(pid, needle) {
  const found = [];
  const maps = readFileSync(`/proc/${pid}/maps`, 'utf8').split('\n').filter(Boolean);
  const fd = openSync(`/proc/${pid}/mem`, 'r');
  const target = Buffer.from(needle);
  const chunk = Buffer.alloc(16 << 20);
  try {
    for (const line of maps) {
      const [range, perms, , , , path = ''] = line.split(/\s+/);
      if (!perms.startsWith('r') || path === '[vvar]' || path === '[vsyscall]' || path === '[vvar_vclock]') continue;
      const [start, end] = range.split('-').map((h) => parseInt(h, 16));
      // Chunks overlap by the needle's length, so that no match is split.
      for (let at = start; at < end; at += chunk.length - target.length) {
        const length = Math.min(chunk.length, end - at);
        let read = 0;
        try { read = readSync(fd, chunk, 0, length, at); } catch { break; }
        if (chunk.subarray(0, read).includes(target)) { found.push(`${path || 'anonymous'}@${at.toString(16)}`); break; }
        if (length < chunk.length) break;
      }
    }
  } finally {
    closeSync(fd);
  }
  return found;
}

/** Debian's Chromium (or POLKU_CHROMIUM), headless, as every browser test runs it. */
export function launchBrowser() {
  return chromium.launch({
    executablePath: process.env.POLKU_CHROMIUM || '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

/**
 * A client of the demo with an open grade-5 extensive check (`kth_laaja_5lk`), whose nurse's
 * check assesses the segment: the same simulation the server's demo data comes from.
 */
export function clientWithOpenCheck(work, clients, model = 'processes/keusote') {
  const out = join(work, 'events.jsonl');
  execFileSync(resolve(process.cwd(), process.env.POLKU_BIN ?? ''), [
    'simulate', '--model', model, '--clients', String(clients), '--seed', '1', '--out', out,
  ], { cwd: REPO_ROOT, stdio: 'ignore' });
  const events = readFileSync(out, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
  const closed = new Set(events.filter((e) => e.type === 'case_closed').map((e) => e.case));
  const opened = events.find((e) => e.type === 'case_opened' && e.process === 'kth_laaja_5lk' && !closed.has(e.case));
  assert.ok(opened, 'the demo has an open grade-5 check');
  return { code: opened.client, caseId: opened.case, segment: opened.segment };
}

/** Closes the browser, stops the server and removes the test's folder, whichever were started. */
export async function tearDown(browser, server, work) {
  await browser?.close();
  if (server) {
    const exited = once(server.child, 'exit');
    server.child.kill('SIGTERM');
    await exited;
  }
  if (work) rmSync(work, { recursive: true, force: true });
}
