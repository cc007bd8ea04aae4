import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

/** Debian's chromium (make deps installs it), or CHROMIUM_BIN. */
export const CHROMIUM = process.env.CHROMIUM_BIN ?? '/usr/bin/chromium';

export interface Browser {
  context: BrowserContext;
  page: Page;
  close(): Promise<void>;
}

/** Headless chromium with a fresh profile, nothing running in the background, one page. */
export async function launchBrowser(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`no chromium at ${CHROMIUM}: run make deps (Debian: apt-get install chromium) or set CHROMIUM_BIN`);
  }
  const profile = mkdtempSync(join(tmpdir(), 'topo-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1280, height: 900 },
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-sync'],
  });
  const page = context.pages()[0] ?? (await context.newPage());
  return {
    context,
    page,
    close: async () => {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/**
 * Pixels of a PNG close to each given colour, counted by the browser itself (the image
 * decoded into a canvas): proof that a screenshot shows what the DOM says it should.
 */
export async function countColours(page: Page, png: Buffer, colours: Record<string, [number, number, number]>): Promise<Record<string, number>> {
  return page.evaluate(
    async ({ data, targets }) => {
      // Runs in the page: the DOM's types are not in this Node project's compilation.
      // eslint-disable-next-line @typescript-eslint/no-explicit-any
      const { Image, document } = globalThis as any;
      const image = new Image();
      image.src = `data:image/png;base64,${data}`;
      await image.decode();
      const canvas = document.createElement('canvas');
      canvas.width = image.width;
      canvas.height = image.height;
      const ctx = canvas.getContext('2d');
      ctx.drawImage(image, 0, 0);
      const pixels = ctx.getImageData(0, 0, image.width, image.height).data as Uint8ClampedArray;
      const counts: Record<string, number> = {};
      for (const name of Object.keys(targets)) counts[name] = 0;
      for (let i = 0; i < pixels.length; i += 4) {
        for (const [name, [r, g, b]] of Object.entries(targets)) {
          if (Math.abs(pixels[i]! - r) + Math.abs(pixels[i + 1]! - g) + Math.abs(pixels[i + 2]! - b) < 60) counts[name]!++;
        }
      }
      return counts;
    },
    { data: png.toString('base64'), targets: colours },
  );
}
