/**
 * Which code a function name means, for `npm run invoke` and `npm run event`: tokengate's own functions
 * (`lambdas/<name>/handler.ts`, the entries the stack bundles), or a service of the team's app declaration (its
 * `entry`, relative to the declaration file, and `exportName`), the declaration named by `--app`, TOKENGATE_APP
 * or the sample app `examples/shop/app.ts`.
 */
import { existsSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { AppDeclaration } from '../routes.js';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** tokengate's own functions, each `lambdas/<name>/handler.ts` exporting `handler`. */
export const TOKENGATE_FUNCTIONS = ['authorizer', 'login', 'refresh', 'logout', 'jwks'] as const;
export const DEFAULT_APP = 'examples/shop/app.ts';

export interface LoadedApp {
  /** Absolute path of the declaration file. */
  file: string;
  app: AppDeclaration;
}

/** The app declaration: `file`, else TOKENGATE_APP, else the sample app; its default export (or `app`). */
export async function loadApp(file?: string, env: NodeJS.ProcessEnv = process.env): Promise<LoadedApp> {
  const path = resolve(file ?? env.TOKENGATE_APP ?? resolve(REPO_ROOT, DEFAULT_APP));
  if (!existsSync(path)) throw new Error(`app declaration ${path} does not exist`);
  const mod = (await import(pathToFileURL(path).href)) as { default?: AppDeclaration; app?: AppDeclaration };
  const app = mod.default ?? mod.app;
  if (!app || typeof app !== 'object' || !Array.isArray(app.routes) || typeof app.services !== 'object') {
    throw new Error(`${path} must export its app declaration (defineApp(...)) as its default export`);
  }
  return { file: path, app };
}

export interface ResolvedFunction {
  name: string;
  kind: 'tokengate' | 'service';
  /** Absolute path of the handler module. */
  entry: string;
  exportName: string;
}

/** The handler module of `name`; an error listing the names there are when there is none. */
export function resolveFunction(name: string, loaded: LoadedApp | undefined): ResolvedFunction {
  if ((TOKENGATE_FUNCTIONS as readonly string[]).includes(name)) {
    return { name, kind: 'tokengate', entry: resolve(REPO_ROOT, 'lambdas', name, 'handler.ts'), exportName: 'handler' };
  }
  const service = loaded && Object.hasOwn(loaded.app.services, name) ? loaded.app.services[name] : undefined;
  if (service) {
    const entry = resolve(dirname(loaded!.file), service.entry);
    if (existsSync(entry)) return { name, kind: 'service', entry, exportName: service.exportName ?? 'handler' };
    throw new Error(`service "${name}" of ${relative(process.cwd(), loaded!.file)}: its entry ${relative(process.cwd(), entry)} does not exist`);
  }
  const services = loaded ? Object.keys(loaded.app.services) : [];
  throw new Error(
    `no function "${name}": tokengate's are ${TOKENGATE_FUNCTIONS.join(', ')}` +
      (loaded ? `; the services of ${relative(process.cwd(), loaded.file)} are ${services.join(', ') || '(none)'}` : ''),
  );
}
