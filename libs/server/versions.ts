import { invalidArgument } from './errors';

/** Versions and revisions travel as int64 strings; 0 means "none". */
export function optionalVersion(field: string, raw: string | undefined): bigint | null {
  const value = requireRevision(field, raw ?? '0', true);
  return value === 0n ? null : value;
}

export function requireRevision(field: string, raw: string, allowZero = false): bigint {
  if (!/^-?\d+$/.test(raw)) throw invalidArgument(field, `${JSON.stringify(raw)} is not a whole number`);
  const value = BigInt(raw);
  if (value < 0n || (!allowZero && value === 0n)) {
    throw invalidArgument(field, `${raw} must be ${allowZero ? 'zero or ' : ''}positive`);
  }
  return value;
}

export const wireVersion = (version: bigint): string => version.toString();
