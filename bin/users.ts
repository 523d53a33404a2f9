/**
 * Admin CLI for users.
 *
 *   npm run users -- add <username> [--permissions "orders:read orders:write"] [--password-stdin | --password <pw>]
 *   npm run users -- list
 *   npm run users -- set-permissions <username> "<perm> <perm> ..."   (--permissions '' removes every permission)
 *   npm run users -- disable <username>        (ends every session at once)
 *   npm run users -- enable <username>
 *   npm run users -- logout-all <username>
 *   npm run users -- set-password <username> [--password-stdin | --password <pw>]   (ends every session)
 *
 * Target: the local store by default (LOCAL_DATA_DIR, default .local/; while `npm start` runs it goes
 * through the running server), or a deployed table with `--table <name> [--region <region>]` using the
 * usual AWS credential chain (env, profile, SSO, instance role).
 *
 * A permission that no route of the app declaration uses (--app, TOKENGATE_APP, else examples/shop/app.ts) is
 * refused, as a typo would otherwise grant nothing silently; --force stores it anyway (for a permission a service
 * checks itself with `caller.can()`).
 */
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { createDynamoClient, type DynamoTarget } from '../lambdas/adapters/dynamo/client.js';
import { DynamoUserStore } from '../lambdas/adapters/dynamo/user-store.js';
import { createSdkDynamoCaller } from '../lambdas/adapters/dynamo/sdk-caller.js';
import { assertPermissionsFitToken } from '../lambdas/core/access-token.js';
import { systemClock } from '../lambdas/core/clock.js';
import { TokengateError } from '../lambdas/core/errors.js';
import { grants, normalizePermissions } from '../lambdas/core/permissions.js';
import { normalizeUsername, UserAdmin } from '../lambdas/core/users.js';
import { hasherFromEnv } from '../lambdas/wiring.js';
import { loadApp } from '../lib/local/functions.js';
import { describeError, localSettings, openLocalStore, probeStore } from '../lib/local/local-env.js';
import { LOCAL_TABLE } from '../lib/local/stack.js';
import { allRoutes } from '../lib/routes.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const USAGE = `usage: npm run users -- <command> [username] [options]

commands:
  list
  add <username> [--permissions "<p> <p>"] [--password-stdin | --password <pw>]   (no password option: one is generated)
  set-permissions <username> "<p> <p>"     (or --permissions "<p> <p>"; --permissions '' removes every permission)
  disable <username> | enable <username> | logout-all <username>
  set-password <username> [--password-stdin | --password <pw>]   (--password-stdin on a terminal asks for it)
options:
  --table <name> --region <region>   a deployed table, with the usual AWS credentials (default: the local store)
  --endpoint <url>                   a DynamoDB-compatible endpoint (default: the running npm start's, if any)
  --app <file>                       the app declaration whose routes' permissions are known (default: TOKENGATE_APP,
                                     else examples/shop/app.ts); a permission no route uses is refused
  --force                            store a permission no route uses (one a service checks itself)
  -h, --help`;

/** A refusal of the command line itself: said plainly, exit code 2. */
class UsageError extends Error {}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
}

/** Asks on the terminal without echoing what is typed (stderr: stdout stays for results). */
function askHidden(prompt: string): Promise<string> {
  const stdin = process.stdin;
  process.stderr.write(prompt);
  stdin.setRawMode(true);
  stdin.resume();
  return new Promise((resolve) => {
    let value = '';
    const done = (): void => {
      stdin.off('data', onData);
      stdin.setRawMode(false);
      stdin.pause();
      process.stderr.write('\n');
      resolve(value);
    };
    const onData = (chunk: Buffer): void => {
      for (const ch of chunk.toString('utf8')) {
        if (ch === '\r' || ch === '\n' || ch === '\u0004') return done();
        if (ch === '\u0003') {
          stdin.setRawMode(false);
          process.stderr.write('\n');
          process.exit(130);
        }
        if (ch === '\u007f' || ch === '\b') value = value.slice(0, -1);
        else value += ch;
      }
    };
    stdin.on('data', onData);
  });
}

/** `--password-stdin`: the piped password, or, on a terminal, asked for twice (never echoed). */
async function passwordFromStdin(username: string): Promise<string> {
  if (!process.stdin.isTTY) return readStdin();
  const first = await askHidden(`New password for ${username}: `);
  const again = await askHidden('Again: ');
  if (first !== again) throw new UsageError('the two passwords differ; nothing was changed');
  return first;
}

interface Target {
  table: DynamoTarget;
  /** Where the command works, for messages: `table T in R`, `the local store at …`. */
  label: string;
  close(): Promise<void>;
}

async function openTarget(v: { table?: string; region?: string; endpoint?: string }): Promise<Target> {
  if (v.table) {
    const region = v.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION;
    if (!region && !v.endpoint) throw new UsageError('--region (or AWS_REGION) is required with --table');
    // The SDK here: a person's credentials come from profiles, SSO or a role, not only the environment.
    const client = createSdkDynamoCaller({ region: region ?? 'local', ...(v.endpoint ? { endpoint: v.endpoint } : {}) });
    const label = `table ${v.table} in ${region ?? 'local'}${v.endpoint ? ` at ${v.endpoint}` : ''}`;
    return { table: { client, tableName: v.table }, label, close: async () => client.destroy() };
  }
  if (v.endpoint) {
    const probe = await probeStore(v.endpoint);
    if (!probe.ok) throw new Error(`the store at ${v.endpoint} does not answer: ${probe.reason}`);
    const client = createDynamoClient({ region: 'local', endpoint: v.endpoint });
    return { table: { client, tableName: LOCAL_TABLE }, label: `the store at ${v.endpoint}`, close: async () => client.destroy() };
  }
  // The local store as npm start uses it: through a running npm start, else set up exactly as npm start does.
  const settings = localSettings();
  const store = await openLocalStore(process.env, settings);
  return { table: store.table, label: `the local store at ${store.endpoint} (${settings.dataDir})`, close: () => store.close() };
}

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      permissions: { type: 'string' },
      password: { type: 'string' },
      'password-stdin': { type: 'boolean' },
      table: { type: 'string' },
      region: { type: 'string' },
      endpoint: { type: 'string' },
      app: { type: 'string' },
      force: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const [command, username, ...rest] = positionals;
  if (values.help || command === 'help') {
    console.log(USAGE);
    return 0;
  }
  if (!command) {
    console.error(USAGE);
    return 2;
  }
  const needsUser = command !== 'list';
  if (needsUser && !username) {
    console.error(USAGE);
    return 2;
  }

  const password = async (): Promise<{ value: string; generated: boolean }> => {
    if (values['password-stdin']) return { value: await passwordFromStdin(username!), generated: false };
    if (values.password !== undefined) return { value: values.password, generated: false };
    return { value: randomBytes(18).toString('base64url'), generated: true };
  };
  const splitPerms = (s: string | undefined): string[] => (s ?? '').split(/[\s,]+/).filter(Boolean);
  /** The permissions to store, refused (before anything is written) if the user's access tokens could outgrow the verifiers' limit. */
  const permissionsFor = (user: string, s: string | undefined): string[] => {
    const permissions = normalizePermissions(splitPerms(s));
    assertPermissionsFitToken(
      { sub: normalizeUsername(user, true), permissions },
      { issuer: process.env.TOKEN_ISSUER || undefined, audience: process.env.TOKEN_AUDIENCE || undefined },
    );
    return permissions;
  };
  if (command === 'set-permissions' && values.permissions === undefined && rest.length === 0) {
    // Without a list this would remove every permission: that needs saying so.
    throw new UsageError(`set-permissions needs the permissions: set-permissions ${username} "orders:read orders:write" (to remove every permission: --permissions '')`);
  }
  // Checked before the store is opened: a refused permission set touches nothing (main's caller prints the error).
  const permissions = command === 'add' || command === 'set-permissions' ? permissionsFor(username!, values.permissions ?? rest.join(' ')) : [];
  // The app whose routes the permissions are checked against: --app, TOKENGATE_APP, else this repository's sample.
  // An installed package has no sample: without an app to check against, say so and store the permissions.
  const declared = permissions.length > 0
    ? await loadApp(values.app).catch((err: unknown) => {
      if (values.app !== undefined || process.env.TOKENGATE_APP !== undefined) throw err;
      console.error('note: no app declaration to check the permissions against (give --app <file> or TOKENGATE_APP)');
      return undefined;
    })
    : undefined;
  if (declared) {
    const { file, app } = declared;
    const used = allRoutes(app).flatMap((r) => (r.permission === null ? [] : [r.permission]));
    const unknown = permissions.filter((p) => !used.some((required) => grants([p], required)));
    if (unknown.length > 0) {
      const known = [...new Set(used)].join(' ');
      const what = `${unknown.join(' ')}: no route of ${file} needs ${unknown.length === 1 ? 'it' : 'them'} (the routes use: ${known})`;
      if (!values.force) throw new UsageError(`refused ${what}. A typo grants nothing; --force stores ${unknown.length === 1 ? 'it' : 'them'} anyway (e.g. a permission a service checks itself).`);
      console.error(`warning: storing ${what}`);
    }
  }

  const target = await openTarget(values);
  const { table } = target;
  const admin = new UserAdmin(new DynamoUserStore(table), hasherFromEnv(process.env), systemClock);
  try {
    switch (command) {
      case 'add': {
        const pw = await password();
        const u = await admin.add(username!, pw.value, permissions);
        console.log(`added ${u.username} with permissions: ${u.permissions.join(' ') || '(none)'}`);
        if (pw.generated) console.log(`generated password (shown once): ${pw.value}`);
        return 0;
      }
      case 'list': {
        const users = await admin.list();
        for (const u of users) console.log(`${u.username.padEnd(24)} ${u.status.padEnd(9)} ${u.permissions.join(' ')}`);
        if (users.length === 0) console.log('(no users)');
        return 0;
      }
      case 'set-permissions':
        await admin.setPermissions(username!, permissions);
        console.log(`permissions of ${username} set (effective for new access tokens, i.e. at the next refresh)`);
        return 0;
      case 'disable':
        await admin.setStatus(username!, 'disabled');
        console.log(`${username} disabled; all of its sessions are revoked`);
        return 0;
      case 'enable':
        await admin.setStatus(username!, 'active');
        console.log(`${username} enabled`);
        return 0;
      case 'logout-all':
        await admin.logoutEverywhere(username!);
        console.log(`all sessions of ${username} revoked`);
        return 0;
      case 'set-password': {
        const pw = await password();
        await admin.setPassword(username!, pw.value);
        console.log(`password of ${username} changed; all of its sessions are revoked`);
        if (pw.generated) console.log(`generated password (shown once): ${pw.value}`);
        return 0;
      }
      default:
        console.error(`unknown command "${command}"\n${USAGE}`);
        return 2;
    }
  } catch (err) {
    // What failed and why, and where: `store unavailable: list users (Error) ← connect ECONNREFUSED 127.0.0.1:8000 (…)`.
    console.error(`error: ${err instanceof TokengateError && err.cause === undefined ? err.message : describeError(err)} (${target.label})`);
    return 1;
  } finally {
    await target.close();
  }
}

process.exitCode = await main().catch((err: unknown) => {
  if (err instanceof UsageError) {
    console.error(`error: ${err.message}`);
    return 2;
  }
  console.error(`error: ${describeError(err)}`);
  return 1;
});
