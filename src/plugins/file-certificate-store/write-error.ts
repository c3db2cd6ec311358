import { HostError, describeError } from '../../core/host-error.js';

/** A failed write in the certificate folder, as an error that says what happened and what to do. */
export function unwritable(path: string, error: unknown): HostError {
  const code = (error as NodeJS.ErrnoException).code;
  const why =
    code === 'ENOSPC' ? 'the disk is full' : code === 'EROFS' ? 'the file system is read-only' : code === 'EACCES' || code === 'EPERM' ? 'permission denied' : describeError(error);
  return new HostError(
    'cert-dir-unwritable',
    `Cannot write ${path} (${why}). The previous files are unchanged. Free some space or fix the folder's permissions, or choose another folder with --cert-dir.`,
    { cause: error },
  );
}
