// `npx tsx scripts/screenshot-ui.ts`: the screenshots of README's "Reading exports in the Temporal
// UI" (the PNGs under docs/images/). Starts an apiserver, Temporal with its UI pointed at the operator's
// codec endpoint, and Postgres; applies an inventory with a working Postgres sink and a NATS sink
// whose server is absent; runs the operator in this process until one export succeeded and the
// other failed; then opens the inventory's workflow in headless Chromium (Debian's
// /usr/bin/chromium, driven by playwright-core) and saves the pages. Stops everything at the end.
import { mkdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Page } from 'playwright-core';
import { startHarness } from '../test/harness/harness.js';
import { freePort } from '../test/harness/util.js';
import { kubectl, installCrds } from '../test/support/e2e.js';
import { applyUiDemo, podTemplate } from '../test/support/ui-demo.js';
import { runOperator } from '../worker/operator.js';
import { loadConfig } from '../worker/config.js';
import { inventoryWorkflowId } from '../workflows/definitions.js';
import type { KollectInventory } from '../api/types.js';

const outDir = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'docs', 'images');
const browserPath = process.env.CHROMIUM ?? '/usr/bin/chromium';
const say = (l: string) => process.stdout.write(`${l}\n`);

process.env.KOLLECT_TEMPORAL_UI_PORT ??= String(await freePort());
process.env.KOLLECT_CODEC_PORT ??= String(await freePort());
process.env.KOLLECT_CODEC_CORS_ORIGINS ??= `http://127.0.0.1:${process.env.KOLLECT_TEMPORAL_UI_PORT}`;
process.env.KOLLECT_TEMPORAL_UI_CODEC_ENDPOINT ??= `http://127.0.0.1:${process.env.KOLLECT_CODEC_PORT}/codec`;

const h = await startHarness({ only: ['kube', 'temporal', 'postgres'], withUi: true });
let stopOperator: (() => Promise<void>) | undefined;
try {
  const { kube, temporal, postgres } = h.endpoints as Required<typeof h.endpoints>;
  await installCrds();
  const ns = 'kollect-demo';
  const demo = await applyUiDemo({ ns, postgresUrl: postgres.url, deadNatsUrl: `nats://127.0.0.1:${await freePort()}`, table: 'kollect_rows', objects: 12 });
  const op = await runOperator({
    ...loadConfig({ KOLLECT_ENDPOINT_ALLOW: 'loopback', ...process.env, KUBECONFIG: kube.kubeconfig, TEMPORAL_ADDRESS: temporal.address, KOLLECT_STORE_URL: postgres.url }),
    httpHost: '127.0.0.1', httpPort: 0,
  });
  stopOperator = () => op.stop();
  say('screenshot-ui: waiting for one export to succeed (postgres) and one to fail (nats)...');
  const deadline = Date.now() + 180_000;
  let status: KollectInventory['status'];
  for (;;) {
    status = (JSON.parse(await kubectl(['-n', ns, 'get', 'kollectinventory', demo.inventory, '-o', 'json'])) as KollectInventory).status;
    const sinks = status?.sinkExports ?? [];
    if (sinks.some((s) => s.name === demo.goodSink && s.lastSuccessTime) && sinks.some((s) => s.name === demo.badSink && s.reason)) break;
    if (Date.now() > deadline) throw new Error(`the exports did not settle in 3 minutes: ${JSON.stringify(status)}`);
    await new Promise((r) => setTimeout(r, 1000));
  }
  // A change after the first export, so the history also has a delta export.
  await kubectl(['apply', '-f', '-'], podTemplate(ns, 'late-arrival', 'web'));
  await new Promise((r) => setTimeout(r, 12_000));
  say(`screenshot-ui: status.sinkExports = ${JSON.stringify(status?.sinkExports, null, 1)}`);

  if (process.env.SCREENSHOT_HOLD) {
    // For working on the views: the services stay up until Ctrl-C, and no screenshot is taken.
    say(`screenshot-ui: holding; UI ${temporal.uiUrl}, codec ${process.env.KOLLECT_TEMPORAL_UI_CODEC_ENDPOINT}; Ctrl-C stops`);
    await new Promise((r) => { process.once('SIGINT', r); process.once('SIGTERM', r); });
  } else {
    await screenshots(`${temporal.uiUrl}/namespaces/default/workflows/${encodeURIComponent(inventoryWorkflowId(ns, demo.inventory))}`, demo.badSink);
  }
} finally {
  await stopOperator?.();
  await h.stop();
}

/** The views README walks through, saved as PNGs under docs/images/. */
async function screenshots(workflowUrl: string, badSink: string): Promise<void> {
  mkdirSync(outDir, { recursive: true });
  const browser = await chromium.launch({
    executablePath: browserPath,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  try {
    const page = await browser.newPage({ viewport: { width: 1600, height: 1000 } });
    // The UI polls a running workflow, so the network never idles: wait for what is shown instead.
    await page.goto(workflowUrl, { waitUntil: 'domcontentloaded' });
    await page.getByText(/exportPostgres/).first().waitFor({ timeout: 30_000 });
    await page.waitForTimeout(2000);
    await shot(page, 'ui-timeline.png');
    const run = page.url().replace(/\/[a-z-]+$/, '');

    await page.goto(`${run}/history`, { waitUntil: 'domcontentloaded' });
    await page.getByText('Compact', { exact: true }).first().click();
    await page.getByText(/Auto Refresh On/).first().click(); // keeps the rows still
    await page.getByText(`export${badSink[0]!.toUpperCase()}${badSink.slice(1)}`, { exact: true }).first().click();
    await page.getByText('Activity Task Failed').first().waitFor();
    await page.waitForTimeout(2000);
    await page.mouse.move(900, 600);
    const scrollTo = async (text: string, up: number): Promise<void> => {
      await page.getByText(text).first().scrollIntoViewIfNeeded();
      await page.getByText(text).first().evaluate('(e) => e.scrollIntoView({ block: "start" })');
      await page.mouse.wheel(0, -up); // out from under the sticky header
      await page.waitForTimeout(800);
    };
    // The expanded Activity Task Scheduled event: summary and input (plan: mode, fromVersion, version).
    await page.setViewportSize({ width: 1600, height: 1700 });
    await page.waitForTimeout(1000);
    await shot(page, 'ui-failed-export-input.png', { x: 250, y: 450, width: 1350, height: 1200 });
    await page.setViewportSize({ width: 1600, height: 1000 });
    await page.waitForTimeout(1000);
    await scrollTo('Activity Task Failed', 150);
    await shot(page, 'ui-failed-export-failure.png');

    await page.goto(run, { waitUntil: 'domcontentloaded' });
    await page.getByText('User Metadata', { exact: true }).first().click();
    await page.getByText('Current Details').first().waitFor({ timeout: 30_000 });
    await page.waitForTimeout(3000);
    await shot(page, 'ui-current-details.png', { x: 250, y: 0, width: 1350, height: 620 });
  } finally {
    await browser.close();
  }
}

/** Saves the page (without the navigation column), or `clip` of it. */
async function shot(page: Page, name: string, clip = { x: 250, y: 0, width: 1350, height: 1000 }): Promise<void> {
  const file = path.join(outDir, name);
  await page.screenshot({ path: file, clip });
  say(`screenshot-ui: ${file} (${Math.round(statSync(file).size / 1024)} KiB)`);
}
