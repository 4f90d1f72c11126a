/**
 * Writes a set of output files so that a failure leaves nothing half-written: every file goes to a
 * temporary name beside its target first, and only when all are complete are they renamed into
 * place (rename is atomic within a file system).
 */
import fs from 'node:fs';
import path from 'node:path';

export function writeFilesAtomically(dir: string, files: Record<string, string | Uint8Array>): string[] {
  const written: { tmp: string; target: string }[] = [];
  try {
    for (const [rel, content] of Object.entries(files)) {
      const target = path.resolve(dir, rel);
      fs.mkdirSync(path.dirname(target), { recursive: true });
      const tmp = `${target}.tmp-${process.pid}`;
      written.push({ tmp, target });
      fs.writeFileSync(tmp, content);
    }
  } catch (e) {
    for (const { tmp } of written) fs.rmSync(tmp, { force: true });
    throw e;
  }
  for (const { tmp, target } of written) fs.renameSync(tmp, target);
  return written.map((w) => w.target);
}

export function writeFileAtomically(file: string, content: string | Uint8Array): void {
  writeFilesAtomically(path.dirname(path.resolve(file)), { [path.basename(file)]: content });
}
