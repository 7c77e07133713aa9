/**
 * Unified diffs of a planned file change, as plan and drift show them (the report colours them).
 *
 *   unifiedDiff('/etc/x', 'a\n', 'b\n')  ->  "--- /etc/x\n+++ /etc/x (planned)\n@@ -1 +1 @@\n-a\n+b\n"
 */
import { createPatch } from 'diff';

export function unifiedDiff(path: string, before: string | undefined, after: string): string {
  const patch = createPatch(
    path,
    before ?? '',
    after,
    before === undefined ? '(new file)' : '',
    '(planned)',
    {
      context: 3,
    },
  );
  // createPatch starts with "Index:" and "===" lines; keep the familiar ---/+++ header only.
  return patch
    .split('\n')
    .filter((line, i) => !(i < 2 && (line.startsWith('Index:') || line.startsWith('==='))))
    .map((line) => (line.startsWith('---') || line.startsWith('+++') ? line.trimEnd() : line))
    .join('\n')
    .replace(/\n*$/, '\n');
}
