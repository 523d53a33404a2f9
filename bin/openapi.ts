/**
 * `npm run openapi [-- <app.ts>] [--out <file>] [--title <t>] [--version <v>] [--server <url>]`: writes the
 * OpenAPI 3.1 document of an app declaration (default: the sample app, examples/shop/app.ts) to `--out`
 * (default openapi.json; `-` prints it). The package CLI runs the same: `npx tokengate openapi app.ts`.
 */
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { buildOpenApi } from '../lib/openapi.js';
import type { AppDeclaration } from '../lib/routes.js';

const USAGE = 'usage: openapi [app.ts] [--out openapi.json|-] [--title <title>] [--version <version>] [--server <url>]';

function isDeclaration(v: unknown): v is AppDeclaration {
  const o = v as Partial<AppDeclaration> | null | undefined;
  return typeof o === 'object' && o !== null && Array.isArray(o.routes) && typeof o.services === 'object' && o.services !== null;
}

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      out: { type: 'string', short: 'o' },
      title: { type: 'string' },
      version: { type: 'string' },
      server: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help || positionals.length > 1) {
    console.log(USAGE);
    return values.help ? 0 : 2;
  }
  const appFile = resolve(positionals[0] ?? 'examples/shop/app.ts');
  const mod = (await import(pathToFileURL(appFile).href)) as { default?: unknown };
  if (!isDeclaration(mod.default)) {
    console.error(`${appFile}: its default export must be the app declaration (export default defineApp({...}))`);
    return 1;
  }
  const doc = buildOpenApi(mod.default, {
    ...(values.title ? { title: values.title } : {}),
    ...(values.version ? { version: values.version } : {}),
    ...(values.server ? { serverUrl: values.server } : {}),
  });
  const text = JSON.stringify(doc, null, 2) + '\n';
  const out = values.out ?? 'openapi.json';
  if (out === '-') process.stdout.write(text);
  else {
    writeFileSync(out, text);
    console.log(`wrote ${out}: ${Object.keys(doc.paths).length} paths`);
  }
  return 0;
}

process.exitCode = await main().catch((err: unknown) => {
  console.error(err instanceof Error ? `${err.name}: ${err.message}` : err);
  return 1;
});
