import { describe, expect, it } from 'vitest';
import { redactUrl, TOKEN_PATH_PATTERNS, UrlRedactor } from './redact-url.js';

describe('redactUrl', () => {
  it('redacts ?token= and the token segment of /v1/resume/:token', () => {
    expect(TOKEN_PATH_PATTERNS).toContain('/v1/resume/:token');
    expect(redactUrl('/v1/resume/abc123')).toBe('/v1/resume/[redacted]');
    expect(redactUrl('/v1/hooks/wh_abc123?wait=true')).toBe('/v1/hooks/[redacted]?wait=true');
    expect(redactUrl('/v1/resume/abc%2F123/?x=1&token=t')).toBe('/v1/resume/[redacted]/?x=1&token=[redacted]');
    expect(redactUrl('/V1/Resume/abc123')).toBe('/V1/Resume/[redacted]');
    expect(redactUrl('/v1/resumes/abc123')).toBe('/v1/resumes/abc123');
    expect(redactUrl('/v1/executions/1/events?token=secret')).toBe('/v1/executions/1/events?token=[redacted]');
  });

  it('learns the token segment of a route added later, keeping its other parameters', () => {
    const urls = new UrlRedactor([]);
    urls.addRoute('/v1/flows/:id');
    urls.addRoute('/v1/hooks/:id/:signingToken/confirm');
    expect(urls.redact('/v1/flows/abc')).toBe('/v1/flows/abc');
    expect(urls.redact('/v1/hooks/42/s3cr3t/confirm?a=1')).toBe('/v1/hooks/42/[redacted]/confirm?a=1');
    expect(urls.redact('/v1/hooks/42/s3cr3t')).toBe('/v1/hooks/42/s3cr3t');
    expect(urls.redact('/v1/resume/abc')).toBe('/v1/resume/abc');
  });
});
