#!/usr/bin/env node
// Runs Polku's process shapes on the bpmn-engine npm package and prints one
// JSON line with the throughput.
//
// Usage: POLKU_BPMN_ENGINE_DIR=<folder printed by install.sh> node run.js SPEC.json
//
// SPEC.json: {"instances": N, "processes": [{"id": "...", "steps": ["a", ...], "weight": W}, ...]}
//
// Each process becomes a linear BPMN 2.0 definition (start event, one task per
// step, end event). N instances in total are spread over the processes in
// proportion to their weights and run one after another, each on its own
// Engine, which is how the engine's maintainer recommends running instances.
'use strict';

const fs = require('node:fs');
const path = require('node:path');
const { EventEmitter } = require('node:events');

const WARM_UP_INSTANCES = 20;

function loadEngine() {
  const dir = process.env.POLKU_BPMN_ENGINE_DIR;
  if (!dir) {
    throw new Error('POLKU_BPMN_ENGINE_DIR is not set: run install.sh and set it to the folder it prints');
  }
  const moduleDir = path.join(dir, 'node_modules', 'bpmn-engine');
  if (!fs.existsSync(path.join(moduleDir, 'package.json'))) {
    throw new Error(`bpmn-engine is not installed under ${dir}: run install.sh and use the folder it prints`);
  }
  const { Engine } = require(moduleDir);
  const { version } = JSON.parse(fs.readFileSync(path.join(moduleDir, 'package.json'), 'utf8'));
  return { Engine, version };
}

function readSpec(file) {
  const spec = JSON.parse(fs.readFileSync(file, 'utf8'));
  if (!Number.isSafeInteger(spec.instances) || spec.instances < 1) {
    throw new Error('spec: "instances" must be a positive integer');
  }
  if (!Array.isArray(spec.processes) || spec.processes.length === 0) {
    throw new Error('spec: "processes" must be a non-empty array');
  }
  for (const p of spec.processes) {
    if (typeof p.id !== 'string' || p.id === '') throw new Error('spec: every process needs a string "id"');
    if (!Array.isArray(p.steps) || p.steps.length === 0 || !p.steps.every((s) => typeof s === 'string')) {
      throw new Error(`spec: process ${p.id}: "steps" must be a non-empty array of strings`);
    }
    if (typeof p.weight !== 'number' || !(p.weight > 0)) {
      throw new Error(`spec: process ${p.id}: "weight" must be a positive number`);
    }
  }
  return spec;
}

function escapeXml(text) {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c]);
}

// Builds a linear definition. Element ids are generated (valid NCNames even when
// names hold letters such as ä, ö or å); the original names go to `name`.
function buildXml(proc, index) {
  const nodes = [`<bpmn:startEvent id="start" />`];
  const ids = ['start'];
  proc.steps.forEach((step, i) => {
    nodes.push(`<bpmn:task id="t${i}" name="${escapeXml(step)}" />`);
    ids.push(`t${i}`);
  });
  nodes.push(`<bpmn:endEvent id="end" />`);
  ids.push('end');
  const flows = ids.slice(1).map((to, i) => `<bpmn:sequenceFlow id="f${i}" sourceRef="${ids[i]}" targetRef="${to}" />`);
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="defs" targetNamespace="urn:polku:bench">',
    `<bpmn:process id="p${index}" name="${escapeXml(proc.id)}" isExecutable="true">`,
    ...nodes,
    ...flows,
    '</bpmn:process>',
    '</bpmn:definitions>',
  ].join('\n');
}

// Splits `total` over the weights by largest remainder, so the counts add up
// exactly, then interleaves the processes evenly over the run.
function schedule(total, weights) {
  const sum = weights.reduce((a, b) => a + b, 0);
  const exact = weights.map((w) => (total * w) / sum);
  const counts = exact.map(Math.floor);
  let missing = total - counts.reduce((a, b) => a + b, 0);
  const byRemainder = exact.map((x, i) => [x - Math.floor(x), i]).sort((a, b) => b[0] - a[0] || a[1] - b[1]);
  for (const [, i] of byRemainder) {
    if (missing-- <= 0) break;
    counts[i] += 1;
  }
  const slots = [];
  counts.forEach((c, i) => {
    for (let k = 0; k < c; k++) slots.push([(k + 0.5) / c, i]);
  });
  slots.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  return { counts, order: slots.map(([, i]) => i) };
}

// Runs one instance on a fresh Engine and resolves when it has ended.
async function runInstance(Engine, name, source, listener) {
  const engine = new Engine({ name, source, listener });
  const ended = engine.waitFor('end'); // rejects on the engine's 'error' event
  await engine.execute();
  await ended;
}

async function main() {
  const specFile = process.argv[2];
  if (!specFile || process.argv.length > 3) throw new Error('usage: node run.js SPEC.json');
  const { Engine, version } = loadEngine();
  const spec = readSpec(specFile);

  const sources = spec.processes.map(buildXml);
  const weights = spec.processes.map((p) => p.weight);

  // One listener shared by every engine; it sees each flow node that ends.
  let tasks = 0;
  let activities = 0;
  const listener = new EventEmitter();
  listener.on('activity.end', (api) => {
    activities += 1;
    if (api.type === 'bpmn:Task') tasks += 1;
  });

  const runAll = async (order) => {
    for (const i of order) await runInstance(Engine, spec.processes[i].id, sources[i], listener);
  };

  await runAll(schedule(WARM_UP_INSTANCES, weights).order);
  tasks = 0;
  activities = 0;

  const { counts, order } = schedule(spec.instances, weights);
  const started = process.hrtime.bigint();
  await runAll(order);
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;

  // Every instance must have passed each of its tasks exactly once.
  const expectedTasks = counts.reduce((sum, c, i) => sum + c * spec.processes[i].steps.length, 0);
  const expectedActivities = expectedTasks + 2 * spec.instances;
  if (tasks !== expectedTasks || activities !== expectedActivities) {
    throw new Error(
      `counted ${tasks} tasks and ${activities} activities, expected ${expectedTasks} and ${expectedActivities}`
    );
  }

  const round = (x) => Math.round(x * 1000) / 1000;
  const result = {
    peer: 'bpmn-engine',
    version,
    instances: spec.instances,
    tasks,
    activities,
    seconds: round(seconds),
    tasks_per_second: round(tasks / seconds),
    instances_per_second: round(spec.instances / seconds),
  };
  process.stdout.write(JSON.stringify(result) + '\n');
}

main().catch((err) => {
  process.stderr.write(`run.js: ${err && err.message ? err.message : err}\n`);
  process.exitCode = 1;
});
