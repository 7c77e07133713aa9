import { describe, expect, it } from 'vitest';
import { REDACTED, Redactor, redactPrivateKeys } from '../../../src/engine/redact.js';

describe('Redactor', () => {
  it('replaces every occurrence of every secret', () => {
    const redactor = new Redactor();
    redactor.addAll(['hunter22', 'turn-secret']);
    expect(redactor.redact('sudo hunter22 then hunter22; turn-secret.')).toBe(
      `sudo ${REDACTED} then ${REDACTED}; ${REDACTED}.`,
    );
  });

  it('replaces the longest secret first so no fragment of it is left', () => {
    const redactor = new Redactor();
    redactor.add('pass');
    redactor.add('password123');
    expect(redactor.redact('x password123 y pass')).toBe(`x ${REDACTED} y ${REDACTED}`);
  });

  it('treats secrets as text, not patterns', () => {
    const redactor = new Redactor();
    redactor.add('a.b*c(d)$');
    expect(redactor.redact('aXbbc(d)$ a.b*c(d)$')).toBe(`aXbbc(d)$ ${REDACTED}`);
  });

  it('ignores values shorter than 4 characters', () => {
    const redactor = new Redactor();
    redactor.addAll(['abc', '', 'x']);
    expect(redactor.redact('abc x')).toBe('abc x');
  });

  it('redacts multi-line secrets', () => {
    const redactor = new Redactor();
    redactor.add('line one\nline two');
    expect(redactor.redact('<line one\nline two>')).toBe(`<${REDACTED}>`);
  });
});

describe('redactPrivateKeys', () => {
  const key = (type: string) =>
    `-----BEGIN ${type}PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\nBKcwggSjAgEAAoIBAQC7\n-----END ${type}PRIVATE KEY-----`;

  it.each(['', 'RSA ', 'EC ', 'OPENSSH ', 'ENCRYPTED '])(
    'removes the body of a %sPRIVATE KEY block',
    (type) => {
      const text = `before\n${key(type)}\nafter`;
      expect(redactPrivateKeys(text)).toBe(
        `before\n-----BEGIN ${type}PRIVATE KEY-----\n${REDACTED}\n-----END ${type}PRIVATE KEY-----\nafter`,
      );
    },
  );

  it('keeps certificates and redacts the key of a combined PEM', () => {
    const cert = '-----BEGIN CERTIFICATE-----\nMIIDazCCAlOgAwIBAgIU\n-----END CERTIFICATE-----';
    const out = new Redactor().redact(`${cert}\n${key('')}\n${cert}\n`);
    expect(out).toBe(
      `${cert}\n-----BEGIN PRIVATE KEY-----\n${REDACTED}\n-----END PRIVATE KEY-----\n${cert}\n`,
    );
  });

  it('cuts an unterminated key to the end of the text', () => {
    expect(redactPrivateKeys('x\n-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBg')).toBe(
      `x\n-----BEGIN PRIVATE KEY-----\n${REDACTED}`,
    );
  });
});
