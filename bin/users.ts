/**
 * Admin CLI for users.
 *
 *   npm run users -- add <username> [--permissions "orders:read orders:write"] [--password-stdin | --password <pw>]
 *   npm run users -- list
 *   npm run users -- set-permissions <username> "<perm> <perm> ..."
 *   npm run users -- disable <username>        (ends every session at once)
 *   npm run users -- enable <username>
 *   npm run users -- logout-all <username>
 *   npm run users -- set-password <username> [--password-stdin | --password <pw>]   (ends every session)
 *
 * Target: the local store by default (LOCAL_DATA_DIR, default .local/; while `npm start` runs it goes
 * through the running server), or a deployed table with `--table <name> [--region <region>]` using the
 * usual AWS credential chain (env, profile, SSO, instance role).
 */
import { randomBytes } from 'node:crypto';
import { resolve, join } from 'node:path';
import { parseArgs } from 'node:util';
import { createDynamoClient, type DynamoTarget } from '../lambdas/adapters/dynamo/client.js';
import { DynamoUserStore } from '../lambdas/adapters/dynamo/user-store.js';
import { createSdkDynamoCaller } from '../lambdas/adapters/dynamo/sdk-caller.js';
import { ensureTable } from '../lambdas/adapters/dynamo/table.js';
import { assertPermissionsFitToken } from '../lambdas/core/access-token.js';
import { systemClock } from '../lambdas/core/clock.js';
import { TokengateError } from '../lambdas/core/errors.js';
import { normalizePermissions } from '../lambdas/core/permissions.js';
import { normalizeUsername, UserAdmin } from '../lambdas/core/users.js';
import { hasherFromEnv } from '../lambdas/wiring.js';
import { startEmbeddedDynamo, type EmbeddedDynamo } from '../lib/local/dynamo-server.js';
import { LOCAL_TABLE, runningEndpoint, seedDemoUsers } from '../lib/local/stack.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const USAGE = `usage: npm run users -- <add|list|set-permissions|disable|enable|logout-all|set-password> [username] [options]
options: --permissions "<p> <p>"  --password-stdin  --password <pw>  --table <name>  --region <region>  --endpoint <url>`;

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
}

async function reachable(endpoint: string): Promise<boolean> {
  const client = createDynamoClient({ region: 'local', endpoint });
  try {
    await client.call('ListTables', { Limit: 1 });
    return true;
  } catch {
    return false;
  } finally {
    client.destroy();
  }
}

async function openTarget(v: { table?: string; region?: string; endpoint?: string }): Promise<{ table: DynamoTarget; embedded?: EmbeddedDynamo }> {
  if (v.table) {
    const region = v.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION;
    if (!region && !v.endpoint) throw new Error('--region (or AWS_REGION) is required with --table');
    // The SDK here: a person's credentials come from profiles, SSO or a role, not only the environment.
    return { table: { client: createSdkDynamoCaller({ region: region ?? 'local', ...(v.endpoint ? { endpoint: v.endpoint } : {}) }), tableName: v.table } };
  }
  const dataDir = resolve(process.env.LOCAL_DATA_DIR ?? '.local');
  const running = v.endpoint ?? runningEndpoint(dataDir);
  if (running && (await reachable(running))) {
    return { table: { client: createDynamoClient({ region: 'local', endpoint: running }), tableName: LOCAL_TABLE } };
  }
  const embedded = await startEmbeddedDynamo({ path: join(dataDir, 'dynamodb') });
  const table = { client: createDynamoClient({ region: 'local', endpoint: embedded.endpoint }), tableName: LOCAL_TABLE };
  // A fresh data dir gets the demo users whichever command touches it first (as `npm start` would).
  if ((await ensureTable(table.client, table.tableName)) === 'created') await seedDemoUsers(table, process.env);
  return { table, embedded };
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
      help: { type: 'boolean', short: 'h' },
    },
  });
  const [command, username, ...rest] = positionals;
  if (values.help || !command) {
    console.log(USAGE);
    return command ? 0 : 2;
  }
  const needsUser = command !== 'list';
  if (needsUser && !username) {
    console.error(USAGE);
    return 2;
  }

  const password = async (): Promise<{ value: string; generated: boolean }> => {
    if (values['password-stdin']) return { value: await readStdin(), generated: false };
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
  // Checked before the store is opened: a refused permission set touches nothing (main's caller prints the error).
  const permissions = command === 'add' || command === 'set-permissions' ? permissionsFor(username!, values.permissions ?? rest.join(' ')) : [];

  const { table, embedded } = await openTarget(values);
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
    if (err instanceof TokengateError) {
      console.error(`error: ${err.message}`);
      return 1;
    }
    throw err;
  } finally {
    table.client.destroy();
    await embedded?.close();
  }
}

process.exitCode = await main().catch((err: unknown) => {
  console.error(`error: ${(err as Error)?.message ?? err}`);
  return 1;
});
