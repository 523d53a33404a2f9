/** Settings are refused with a reason a person can act on (issue 11): negatives, the issuer, the access log. */
import { expect, test } from '@jest/globals';
import { accessLogSetting, intSetting, issuerSetting, tokenConfig } from '../../lambdas/core/config.js';
import { ConfigError } from '../../lambdas/core/errors.js';

test('a negative number says it must be ≥ the minimum, not that it is no number', () => {
  expect(() => intSetting({ X: '-5' }, 'X', 1, 0, 300)).toThrow(new ConfigError('X must be ≥ 0 (at most 300), got -5'));
  expect(() => intSetting({ X: '-1' }, 'X', 1, 0)).toThrow(new ConfigError('X must be ≥ 0, got -1'));
  expect(() => intSetting({ ACCESS_TOKEN_TTL_SECONDS: ' -900 ' }, 'ACCESS_TOKEN_TTL_SECONDS', 900, 1, 86_400)).toThrow(/must be ≥ 1/);
  // Still: not a number at all, and out of range.
  expect(() => intSetting({ X: '1.5' }, 'X', 1)).toThrow(/must be a whole number, got "1.5"/);
  expect(() => intSetting({ X: 'ten' }, 'X', 1)).toThrow(/must be a whole number/);
  expect(() => intSetting({ X: '301' }, 'X', 1, 0, 300)).toThrow(/between 0 and 300, got 301/);
  expect(intSetting({ X: ' 7 ' }, 'X', 1)).toBe(7);
  expect(intSetting({}, 'X', 3)).toBe(3);
});

test('TOKEN_ISSUER must be an absolute http(s) URL', () => {
  for (const ok of ['https://auth.example.com', 'http://127.0.0.1:3000', 'https://auth.example.com/tenant-1']) {
    expect(issuerSetting({ TOKEN_ISSUER: ok })).toBe(ok);
  }
  for (const bad of ['auth.example.com', 'tokengate', '/relative', 'ftp://auth.example.com', 'https://', ' https://a.example', 'urn:tokengate']) {
    expect(() => issuerSetting({ TOKEN_ISSUER: bad })).toThrow(/TOKEN_ISSUER must be an absolute http\(s\) URL/);
  }
  expect(() => issuerSetting({})).toThrow(/TOKEN_ISSUER is required/);
  // Every composition reads it through tokenConfig: the issuer and every verifier refuse it at init.
  expect(() => tokenConfig({ TOKEN_ISSUER: 'tokengate', TOKEN_AUDIENCE: 'api' })).toThrow(ConfigError);
});

test('ACCESS_LOG accepts only on and off (any case), unset is on', () => {
  expect(accessLogSetting({})).toBe(true);
  expect(accessLogSetting({ ACCESS_LOG: '' })).toBe(true);
  expect(accessLogSetting({ ACCESS_LOG: 'on' })).toBe(true);
  expect(accessLogSetting({ ACCESS_LOG: 'OFF' })).toBe(false);
  for (const bad of ['0', 'false', 'no', 'quiet', 'of']) {
    expect(() => accessLogSetting({ ACCESS_LOG: bad })).toThrow(new ConfigError(`ACCESS_LOG must be "on" or "off", got "${bad}"`));
  }
});
