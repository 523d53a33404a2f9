export {
  TokengateClient,
  type LogoutOptions,
  type LogoutResult,
  type TokengateClientOptions,
  type TokenSet,
} from './tokengate-client.js';
export { MemoryTokenStorage, type MaybePromise, type StoredTokens, type TokenStorage } from './token-storage.js';
export {
  InvalidCredentialsError,
  SessionEndedError,
  TokengateClientError,
  TokengateHttpError,
  TooManyAttemptsError,
  UnexpectedResponseError,
  UntrustedUrlError,
  type ClientErrorCode,
  type SessionEndReason,
} from './errors.js';
