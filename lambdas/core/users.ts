/** User administration (the admin CLI and local seeding use it; the Lambdas only read users). */
import type { Clock } from './clock.js';
import { InvalidRequestError } from './errors.js';
import { normalizePermissions } from './permissions.js';
import type { PasswordHasher } from './passwords.js';
import type { UserRecord, UserStatus, UserStore } from './ports.js';

const USERNAME = /^[a-z0-9][a-z0-9._@+-]{0,63}$/;

/**
 * Usernames are case-insensitive (stored lower-case after NFKC) and limited to a safe alphabet.
 * Returns undefined (or throws, with `strict`) for a name that cannot exist.
 */
export function normalizeUsername(input: string, strict: true): string;
export function normalizeUsername(input: string, strict: boolean): string | undefined;
export function normalizeUsername(input: string, strict: boolean): string | undefined {
  const n = input.normalize('NFKC').toLowerCase();
  if (USERNAME.test(n)) return n;
  if (strict) throw new InvalidRequestError('username: 1-64 characters of a-z 0-9 . _ @ + -, starting with a letter or digit');
  return undefined;
}

export class UserAdmin {
  constructor(
    private readonly users: UserStore,
    private readonly hasher: PasswordHasher,
    private readonly clock: Clock,
  ) {}

  async add(username: string, password: string, permissions: readonly string[]): Promise<UserRecord> {
    const user: UserRecord = {
      username: normalizeUsername(username, true),
      passwordHash: await this.hasher.hash(password),
      permissions: normalizePermissions(permissions),
      status: 'active',
      createdAt: this.clock.now(),
      sessionsValidAfter: 0,
    };
    await this.users.create(user);
    return user;
  }

  async setPermissions(username: string, permissions: readonly string[]): Promise<void> {
    await this.users.setPermissions(normalizeUsername(username, true), normalizePermissions(permissions));
  }

  async setStatus(username: string, status: UserStatus): Promise<void> {
    await this.users.setStatus(normalizeUsername(username, true), status, this.clock.now());
  }

  async setPassword(username: string, password: string): Promise<void> {
    const name = normalizeUsername(username, true);
    await this.users.setPasswordHash(name, await this.hasher.hash(password));
    await this.users.revokeAllSessions(name, this.clock.now());
  }

  async logoutEverywhere(username: string): Promise<void> {
    await this.users.revokeAllSessions(normalizeUsername(username, true), this.clock.now());
  }

  list(): Promise<UserRecord[]> {
    return this.users.list();
  }
}
