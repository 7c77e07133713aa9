/**
 * Everything rpctl prints or records goes through a Redactor: every known secret value becomes
 * `[REDACTED]`, and so does the body of any PEM private key block.
 *
 *   const redactor = new Redactor();
 *   redactor.addAll(secrets.resolvedValues());
 *   io.stdout.write(redactor.redact(text));
 */

export const REDACTED = '[REDACTED]';

/** Values shorter than this are not redacted: replacing `ab` everywhere would mangle the output. */
export const MIN_REDACTED_LENGTH = 4;

const PRIVATE_KEY_BLOCK = /(-----BEGIN ([A-Z0-9 ]*)PRIVATE KEY-----)[\s\S]*?(-----END \2PRIVATE KEY-----|$)/g;

/** Replace the body (base64 and headers) of every PEM `PRIVATE KEY` block; an unterminated block is cut to the end. */
export function redactPrivateKeys(text: string): string {
  return text.replace(PRIVATE_KEY_BLOCK, (_block, begin: string, _type: string, end: string) =>
    end ? `${begin}\n${REDACTED}\n${end}` : `${begin}\n${REDACTED}`,
  );
}

export class Redactor {
  private readonly secrets = new Set<string>();
  private longestFirst: string[] | undefined;

  add(value: string): void {
    if (value.length < MIN_REDACTED_LENGTH || this.secrets.has(value)) return;
    this.secrets.add(value);
    this.longestFirst = undefined;
  }

  addAll(values: Iterable<string>): void {
    for (const value of values) this.add(value);
  }

  /**
   * A plain search per secret, not one regular expression of them all: a fleet's secrets include
   * every appliance's PEM bundle, and an alternation of a hundred 4 kB literals took seconds to
   * compile and match (and ~90 MB) per host.
   */
  redact(text: string): string {
    let out = redactPrivateKeys(text);
    // Longest first: a secret that contains another is replaced whole, not in pieces.
    this.longestFirst ??= [...this.secrets].sort((a, b) => b.length - a.length);
    for (const secret of this.longestFirst) {
      if (secret.length <= out.length && out.includes(secret)) out = out.split(secret).join(REDACTED);
    }
    return out;
  }
}
