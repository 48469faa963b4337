// A size-limited filesystem for the full-disk faults (test/integration/full-disk.test.ts and the
// chaos run's `disk`): a tmpfs, which only root may mount, and a file that fills it.
import { execFileSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

/** A fresh directory with a tmpfs of `sizeMb` mounted on it, or why it could not be. */
export function mountTmpfs(sizeMb: number, prefix: string): string | { skip: string } {
  if (process.getuid?.() !== 0) return { skip: 'not root: mounting a size-limited tmpfs needs root' };
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${sizeMb}m`, 'tmpfs', dir], { stdio: 'pipe' });
    return dir;
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    return { skip: `mount -t tmpfs failed (${String(err).split('\n')[0]})` };
  }
}

export function unmount(dir: string): void {
  try {
    execFileSync('umount', [dir], { stdio: 'pipe' });
    rmSync(dir, { recursive: true, force: true });
  } catch {
    // Left mounted: a later run mounts a directory of its own.
  }
}

/** Writes zeros to `file` until the filesystem is full. */
export function fillDisk(file: string): void {
  const fd = openSync(file, 'w');
  const chunk = Buffer.alloc(1024 * 1024);
  try {
    for (;;) writeSync(fd, chunk);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
  } finally {
    closeSync(fd);
  }
}
