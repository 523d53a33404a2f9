#!/usr/bin/env node
/**
 * The package's command line, for a team's own project (`npx tokengate ...` after `npm install tokengate`):
 *
 *   tokengate start [app.ts]           the whole API on this machine (as `npm start` in tokengate itself): the
 *                                      app declaration's services behind the local gateway, with tokengate's
 *                                      own routes, the embedded store and demo users (data in .local/)
 *   tokengate users <command> [...]    add and manage users of the local store (or of a deployed table)
 *   tokengate openapi [app.ts] [...]   write the OpenAPI 3.1 document of the declaration
 *
 * The declaration and the handlers it names are TypeScript: the tsx loader is registered first, so they load
 * as they are, with no build step.
 */
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { register } from 'tsx/esm/api';

const USAGE = `usage: tokengate <command> [...]
  start [app.ts]            run the app declaration (default ./app.ts) locally: http://127.0.0.1:3000 (PORT)
  users <command> [...]     add|list|set-permissions|disable|enable|logout-all|set-password (users --help)
  openapi [app.ts] [...]    write the OpenAPI 3.1 document (--out file|-, --title, --version, --server)
  --version                 print the version`;

const [command, ...rest] = process.argv.slice(2);
/** The sub-command's own argument parser reads process.argv: drop the command word from it. */
const shift = (): void => {
  process.argv.splice(2, 1);
};

switch (command) {
  case 'start': {
    const app = resolve(rest[0] ?? 'app.ts');
    if (!existsSync(app)) {
      console.error(`tokengate start: ${app} does not exist (name your app declaration: tokengate start path/to/app.ts)`);
      process.exit(2);
    }
    // The local runner (bin/local.ts) serves the declaration TOKENGATE_APP names.
    process.env.TOKENGATE_APP = app;
    register();
    await import('./local.js');
    break;
  }
  case 'users':
    shift();
    await import('./users.js');
    break;
  case 'openapi':
    shift();
    register();
    await import('./openapi.js');
    break;
  case '--version':
  case '-v': {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
    console.log(pkg.version);
    break;
  }
  case undefined:
  case 'help':
  case '--help':
  case '-h':
    console.log(USAGE);
    process.exitCode = command === undefined ? 2 : 0;
    break;
  default:
    console.error(`tokengate: unknown command "${command}"\n${USAGE}`);
    process.exitCode = 2;
}
