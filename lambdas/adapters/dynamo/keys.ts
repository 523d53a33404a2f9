/** The single-table layout (see ARCHITECTURE.md). Key prefixes are also used in the IAM LeadingKeys condition. */
export const USER_PREFIX = 'USER#';
export const SESSION_PREFIX = 'SESSION#';
export const REFRESH_PREFIX = 'REFRESH#';
export const THROTTLE_PREFIX = 'THROTTLE#';
export const ORDERS_PREFIX = 'ORDERS#';

export const userKey = (username: string) => ({ pk: USER_PREFIX + username, sk: 'PROFILE' });
export const sessionKey = (sid: string) => ({ pk: SESSION_PREFIX + sid, sk: 'META' });
export const refreshKey = (hash: string) => ({ pk: REFRESH_PREFIX + hash, sk: 'META' });
/** One login-throttle counter per fixed window (`sk` W#<window>; the old per-name items had sk META). */
export const throttleKeyOf = (counter: string, window: number) => ({ pk: THROTTLE_PREFIX + counter, sk: `W#${window}` });
