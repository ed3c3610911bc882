import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { PACKAGE_ROOT } from '../config/config.js';

/** Where the dashboard's sources are, and where `npm run build` puts its bundle. */
export const DASHBOARD_SOURCE = path.join(PACKAGE_ROOT, 'src', 'dashboard');
export const DASHBOARD_DIST = path.join(PACKAGE_ROOT, 'dist', 'dashboard');

/** What a build wrote: the page and its hashed assets, relative to the output folder. */
export interface DashboardBuild {
  outDir: string;
  files: string[];
  bytes: number;
}

/**
 * Bundles the dashboard (Preact, uPlot, its CSS) with esbuild into `outDir`: one
 * `index.html` and content-hashed files under `assets/`, so the page can be revalidated
 * while the assets are cached for good. Nothing is fetched at run time: no CDN.
 * The new bundle replaces the old one by renaming a finished folder into place.
 */
export async function buildDashboard(outDir: string = DASHBOARD_DIST): Promise<DashboardBuild> {
  // esbuild is a build-time tool (a dev dependency): loaded here only, never by `serve`.
  const esbuild = await import('esbuild');
  const staging = `${outDir}.tmp-${process.pid}`;
  await rm(staging, { recursive: true, force: true });
  await mkdir(staging, { recursive: true });
  const result = await esbuild.build({
    entryPoints: [path.join(DASHBOARD_SOURCE, 'main.tsx')],
    bundle: true,
    minify: true,
    sourcemap: true,
    format: 'esm',
    target: ['es2022', 'chrome111', 'firefox115', 'safari16'],
    outdir: path.join(staging, 'assets'),
    entryNames: 'app-[hash]',
    assetNames: '[name]-[hash]',
    jsx: 'automatic',
    jsxImportSource: 'preact',
    metafile: true,
    legalComments: 'linked',
    logLevel: 'silent',
  });
  const outputs = Object.keys(result.metafile.outputs).map((p) => path.resolve(p));
  const rel = (p: string) => path.relative(staging, p).split(path.sep).join('/');
  const scripts = outputs.filter((p) => p.endsWith('.js')).map(rel);
  const styles = outputs.filter((p) => p.endsWith('.css')).map(rel);
  const template = await readFile(path.join(DASHBOARD_SOURCE, 'index.html'), 'utf8');
  const html = template
    .replace('<!--styles-->', styles.map((s) => `<link rel="stylesheet" href="/${s}" />`).join('\n    '))
    .replace(
      '<!--scripts-->',
      scripts.map((s) => `<script type="module" src="/${s}"></script>`).join('\n    '),
    );
  await writeFile(path.join(staging, 'index.html'), html);

  await rm(`${outDir}.old`, { recursive: true, force: true });
  await rename(outDir, `${outDir}.old`).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== 'ENOENT') throw err;
  });
  await rename(staging, outDir);
  await rm(`${outDir}.old`, { recursive: true, force: true });
  const files = ['index.html', ...outputs.map((p) => rel(p))];
  const bytes = Object.values(result.metafile.outputs).reduce((n, o) => n + o.bytes, 0);
  return { outDir, files, bytes };
}

// `node dist/src/http/dashboard-build.js` (npm run build) builds into dist/dashboard.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  buildDashboard().then(
    (b) => {
      process.stdout.write(
        `dashboard: ${b.files.length} files, ${(b.bytes / 1024).toFixed(0)} KiB in ${b.outDir}\n`,
      );
    },
    (err: unknown) => {
      process.stderr.write(`dashboard build failed: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exitCode = 1;
    },
  );
}
