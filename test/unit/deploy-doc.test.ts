/** docs/DEPLOY.md's shell lines work as written (issue 11): the region comes from AWS_REGION when only it is set. */
import { expect, test } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));

test('the REGION line takes AWS_REGION, then AWS_DEFAULT_REGION, then the profile', () => {
  const deploy = readFileSync(join(root, 'docs/DEPLOY.md'), 'utf8');
  const line = deploy.split('\n').find((l) => l.startsWith('API=$(out ApiUrl)'));
  expect(line).toBeDefined();
  // Stubs for the AWS CLI: outputs come back as names, `aws configure get region` answers $PROFILE_REGION (or nothing).
  const bin = mkdtempSync(join(tmpdir(), 'tokengate-aws-'));
  try {
    writeFileSync(join(bin, 'aws'), '#!/bin/sh\nif [ "$1" = configure ]; then printf "%s" "$PROFILE_REGION"; else echo output; fi\n');
    chmodSync(join(bin, 'aws'), 0o755);
    const region = (env: Record<string, string>) =>
      execFileSync('bash', ['-c', `out() { aws x; }; ${line}; printf '%s' "$REGION"`], {
        env: { PATH: `${bin}:${process.env.PATH}`, ...env },
      }).toString();
    expect(region({ AWS_REGION: 'eu-central-1' })).toBe('eu-central-1');
    expect(region({ AWS_DEFAULT_REGION: 'us-west-2' })).toBe('us-west-2');
    expect(region({ PROFILE_REGION: 'ap-south-1' })).toBe('ap-south-1');
    expect(region({ AWS_REGION: 'eu-central-1', PROFILE_REGION: 'ap-south-1' })).toBe('eu-central-1');
  } finally {
    rmSync(bin, { recursive: true, force: true });
  }
});
