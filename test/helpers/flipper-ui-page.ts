import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Browser, type Page, chromium } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';
/** Screenshots the tests keep, outside git (see .gitignore). */
export const UI_OUTPUT = fileURLToPath(new URL('../../../test-output/', import.meta.url));
const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/** What the UI page sent and received on its WebSocket: commands by id, which ids got an answer, and the answers. */
export class UiTraffic {
  readonly commands = new Map<number, string>();
  readonly answered = new Map<number, 'ok' | 'error'>();
  /** The `data` of each answer, by command id. */
  readonly answers = new Map<number, unknown>();
  /** `server-event` names the page received, in order. */
  readonly serverEvents: string[] = [];
  watch(page: Page): void {
    page.on('websocket', (ws) => {
      ws.on('framesent', (frame) => {
        const message = parse(frame.payload);
        if (message?.event === 'exec') this.commands.set(message.payload.id as number, message.payload.command as string);
      });
      ws.on('framereceived', (frame) => {
        const message = parse(frame.payload);
        if (message?.event === 'exec-response') this.answered.set(message.payload.id as number, 'ok');
        if (message?.event === 'exec-response-error') this.answered.set(message.payload.id as number, 'error');
        if (message?.event === 'exec-response' || message?.event === 'exec-response-error') this.answers.set(message.payload.id as number, message.payload.data);
        if (message?.event === 'server-event') this.serverEvents.push(String(message.payload.event));
      });
    });
  }
  /** Each distinct command with how often it was sent and how it was answered (e.g. `plugin-source ×19 ok`). */
  summary(): string[] {
    const byName = new Map<string, { n: number; ok: number; error: number; unanswered: number }>();
    for (const [id, name] of this.commands) {
      const entry = byName.get(name) ?? { n: 0, ok: 0, error: 0, unanswered: 0 };
      entry.n++;
      const answer = this.answered.get(id);
      if (answer === 'ok') entry.ok++;
      else if (answer === 'error') entry.error++;
      else entry.unanswered++;
      byName.set(name, entry);
    }
    return [...byName].map(([name, e]) => `${name} ×${e.n}${e.ok ? ` ok ${e.ok}` : ''}${e.error ? ` error ${e.error}` : ''}${e.unanswered ? ` UNANSWERED ${e.unanswered}` : ''}`);
  }
  sentAfter(mark: number, name: string): boolean {
    return [...this.commands].some(([id, n]) => id > mark && n === name);
  }
  /** Ids of the commands called `name` sent after `mark`. */
  idsAfter(mark: number, name: string): number[] {
    return [...this.commands].filter(([id, n]) => id > mark && n === name).map(([id]) => id);
  }
  lastId(): number {
    return Math.max(0, ...this.commands.keys());
  }
}

function parse(payload: string | Buffer): { event: string; payload: Record<string, unknown> } | undefined {
  try {
    return JSON.parse(String(payload)) as { event: string; payload: Record<string, unknown> };
  } catch {
    return undefined;
  }
}

export interface UiPage {
  browser: Browser;
  page: Page;
  traffic: UiTraffic;
  /** Requests to hosts other than loopback, which were aborted. */
  blocked: string[];
  pageErrors: string[];
  consoleErrors: string[];
  /** Closes the open dialogs, topmost first, and returns their titles. */
  dismissDialogs(): Promise<string[]>;
  /** Saves a screenshot of the page under test-output/ and returns its path. */
  screenshot(name: string): Promise<string>;
  /** Logs what the page did (commands, blocked requests, errors) and closes the browser. */
  close(): Promise<void>;
}

/** Debian's Chromium, headless, with a fresh profile and every request that would leave loopback aborted. */
export async function openUiPage(): Promise<UiPage> {
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: apt-get install chromium (.ci/run does)`);
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  const blocked: string[] = [];
  const pageErrors: string[] = [];
  const consoleErrors: string[] = [];
  const traffic = new UiTraffic();
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  // The UI checks facebook.com for updates: nothing may leave loopback.
  await context.route('**/*', (route) => {
    const url = new URL(route.request().url());
    if (LOOPBACK.has(url.hostname)) return route.continue();
    blocked.push(url.href);
    return route.abort();
  });
  const page = await context.newPage();
  page.on('pageerror', (error) => pageErrors.push(String(error).split('\n')[0]!));
  page.on('console', (message) => void (message.type() === 'error' && consoleErrors.push(message.text().slice(0, 300))));
  traffic.watch(page);
  return {
    browser, page, traffic, blocked, pageErrors, consoleErrors,
    async dismissDialogs() {
      const titles: string[] = [];
      for (let i = 0; i < 10; i++) {
        const top = page.locator('.ant-modal-wrap:visible').last();
        if ((await top.count()) === 0) break;
        titles.push(((await top.locator('.ant-modal-title').first().textContent({ timeout: 1_000 }).catch(() => '')) || '(untitled)').trim());
        const close = top.locator('.ant-modal-close:visible, button:visible:has-text("Close"), button:visible:has-text("Looks fine")').first();
        await close.click({ timeout: 10_000 });
        await top.waitFor({ state: 'hidden', timeout: 10_000 }).catch(() => undefined);
      }
      return titles;
    },
    async screenshot(name) {
      await mkdir(UI_OUTPUT, { recursive: true });
      const path = join(UI_OUTPUT, name);
      await page.screenshot({ path });
      console.log(`# screenshot: ${path}`);
      return path;
    },
    async close() {
      console.log(`# UI commands: ${traffic.summary().join(', ')}`);
      console.log(`# blocked outside requests: ${blocked.join(', ') || 'none'}; page errors: ${pageErrors.join(' | ') || 'none'}`);
      console.log(`# console errors: ${consoleErrors.length} (first lines: ${consoleErrors.map((e) => e.split('\n')[0]).join(' | ')})`);
      await browser.close();
    },
  };
}
