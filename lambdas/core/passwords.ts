/**
 * Password hashing with scrypt from node:crypto (no native add-on to build or ship).
 *
 * Parameters follow OWASP's Password Storage Cheat Sheet for scrypt: N=2^17 (128 MiB), r=8, p=1.
 * Stored as a PHC string `$scrypt$ln=17,r=8,p=1$<salt>$<hash>` (base64, unpadded), so parameters can be
 * raised later: old hashes keep verifying with their own parameters and are upgraded at the next login.
 */
import { randomBytes, scrypt as scryptCb, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import { InvalidRequestError, TooManyAttemptsError } from './errors.js';

export interface ScryptParams {
  /** log2(N): the CPU/memory cost. */
  ln: number;
  r: number;
  p: number;
}

/** OWASP's recommendation (2025): N=2^17, r=8, p=1. */
export const OWASP_SCRYPT: ScryptParams = { ln: 17, r: 8, p: 1 };

const SALT_BYTES = 16;
const HASH_BYTES = 32;
/** Longest password accepted, in UTF-8 bytes: hashing cost must not be attacker-controlled. */
export const MAX_PASSWORD_BYTES = 1024;
export const MIN_PASSWORD_LENGTH = 8;

const scrypt = (password: Buffer, salt: Buffer, params: ScryptParams): Promise<Buffer> =>
  new Promise((resolve, reject) => {
    const N = 2 ** params.ln;
    const opts: ScryptOptions = { N, r: params.r, p: params.p, maxmem: 256 * N * params.r + 1024 * 1024 };
    scryptCb(password, salt, HASH_BYTES, opts, (err, key) => (err ? reject(err) : resolve(key)));
  });

interface ParsedHash {
  params: ScryptParams;
  salt: Buffer;
  hash: Buffer;
}

const PHC = /^\$scrypt\$ln=(\d{1,2}),r=(\d{1,2}),p=(\d{1,2})\$([A-Za-z0-9+/]+)\$([A-Za-z0-9+/]+)$/;

function parse(phc: string): ParsedHash | undefined {
  const m = PHC.exec(phc);
  if (!m) return undefined;
  const params = { ln: Number(m[1]), r: Number(m[2]), p: Number(m[3]) };
  if (params.ln < 10 || params.ln > 22 || params.r < 1 || params.p < 1) return undefined;
  return { params, salt: Buffer.from(m[4]!, 'base64'), hash: Buffer.from(m[5]!, 'base64') };
}

const b64 = (b: Buffer): string => b.toString('base64').replace(/=+$/, '');
const format = (params: ScryptParams, salt: Buffer, hash: Buffer): string =>
  `$scrypt$ln=${params.ln},r=${params.r},p=${params.p}$${b64(salt)}$${b64(hash)}`;

/** Rejects passwords we will not hash (length bounds) before any work is done. */
export function checkPasswordBounds(password: unknown, purpose: 'set' | 'verify'): asserts password is string {
  if (typeof password !== 'string') throw new InvalidRequestError('password must be a string');
  if (Buffer.byteLength(password, 'utf8') > MAX_PASSWORD_BYTES) throw new InvalidRequestError('password is too long');
  if (purpose === 'set' && [...password].length < MIN_PASSWORD_LENGTH) {
    throw new InvalidRequestError(`password must have at least ${MIN_PASSWORD_LENGTH} characters`);
  }
  if (purpose === 'verify' && password.length === 0) throw new InvalidRequestError('password is required');
}

export interface HasherLimits {
  /**
   * Hashes computed at once. scrypt runs in Node's thread pool (4 threads), which it shares with file I/O,
   * DNS and, in local mode, the embedded store: with at most 2 hashes at a time the store's calls always find
   * a free thread instead of queueing behind hashes past their timeout. @default 2
   */
  maxConcurrent?: number;
  /**
   * Hashes waiting for a turn; beyond that a login is refused at once with 429 (Retry-After 1) rather than
   * queueing towards the gateway's timeout (at 2 at a time and about 0.4 s per OWASP hash, the last of 8
   * waits under 2 s; on a busy laptop a few times that). @default 8
   */
  maxQueued?: number;
}

/** A counting semaphore with a bounded queue (first come, first served). */
class HashSlots {
  private active = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(
    private readonly max: number,
    private readonly maxQueued: number,
  ) {}

  get stats(): { active: number; waiting: number } {
    return { active: this.active, waiting: this.waiting.length };
  }

  get full(): boolean {
    return this.active >= this.max && this.waiting.length >= this.maxQueued;
  }

  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.active < this.max) this.active++;
    else {
      if (this.waiting.length >= this.maxQueued) throw new TooManyAttemptsError(1);
      await new Promise<void>((resolve) => this.waiting.push(resolve));
      // The slot was handed over by the finishing hash: `active` already counts us.
    }
    try {
      return await fn();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.active--;
    }
  }
}

export class PasswordHasher {
  /** A well-formed hash no password matches, with the current parameters: verified for unknown users. */
  private readonly decoy: string;
  private readonly slots: HashSlots;

  constructor(
    readonly params: ScryptParams = OWASP_SCRYPT,
    limits: HasherLimits = {},
  ) {
    this.decoy = format(params, randomBytes(SALT_BYTES), randomBytes(HASH_BYTES));
    this.slots = new HashSlots(Math.max(1, limits.maxConcurrent ?? 2), Math.max(0, limits.maxQueued ?? 8));
  }

  /** Hashes running and waiting now. */
  get load(): { active: number; waiting: number } {
    return this.slots.stats;
  }

  /** True while a hash asked for now would be refused (every slot busy, the queue full): shed load early. */
  get saturated(): boolean {
    return this.slots.full;
  }

  async hash(password: string): Promise<string> {
    checkPasswordBounds(password, 'set');
    const salt = randomBytes(SALT_BYTES);
    const hash = await this.slots.run(() => scrypt(Buffer.from(password.normalize('NFKC'), 'utf8'), salt, this.params));
    return format(this.params, salt, hash);
  }

  /**
   * Constant-time check of `password` against `phc`. With `phc` undefined (unknown user) the same work is
   * done against a decoy, so the answer time does not tell whether the user exists.
   */
  async verify(password: string, phc: string | undefined): Promise<boolean> {
    const parsed = parse(phc ?? this.decoy) ?? parse(this.decoy)!;
    const candidate = await this.slots.run(() => scrypt(Buffer.from(password.normalize('NFKC'), 'utf8'), parsed.salt, parsed.params));
    const equal = candidate.length === parsed.hash.length && timingSafeEqual(candidate, parsed.hash);
    return equal && phc !== undefined;
  }

  /** True when `phc` was made with weaker parameters than the current ones (rehash after a good login). */
  needsRehash(phc: string): boolean {
    const parsed = parse(phc);
    if (!parsed) return true;
    const { ln, r, p } = parsed.params;
    return ln < this.params.ln || r < this.params.r || p < this.params.p;
  }
}
