/** Minimal stand-in; replaced by the inventory branch's Redactor at merge (same interface). */
export class Redactor {
  private readonly values = new Set<string>();

  add(value: string): void {
    if (value.length >= 4) this.values.add(value);
  }

  redact(text: string): string {
    let out = text;
    for (const value of [...this.values].sort((a, b) => b.length - a.length))
      out = out.split(value).join('[REDACTED]');
    return out;
  }
}
