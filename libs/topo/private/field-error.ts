import { invalidArgument, type TopoError } from '../../store';

const MAX_SHOWN = 80;

/** Quotes a value for an error message, cut short so a huge input cannot flood a log line. */
export function quote(value: string): string {
  const shown = [...value];
  return shown.length > MAX_SHOWN ? `${JSON.stringify(shown.slice(0, MAX_SHOWN).join(''))}…` : JSON.stringify(value);
}

/** Describes one character for a message: printable ones as themselves, others by code point. */
export function describeChar(char: string): string {
  const code = char.codePointAt(0) ?? 0;
  const hex = `U+${code.toString(16).toUpperCase().padStart(4, '0')}`;
  if (code < 0x20 || (code >= 0x7f && code <= 0x9f)) return `a control character (${hex})`;
  if (char === "'") return `"'"`;
  return code > 0x7e ? `'${char}' (${hex})` : `'${char}'`;
}

/** InvalidArgument naming the field and what is wrong with its value. */
export function fieldError(field: string, message: string): TopoError {
  return invalidArgument(`${field}: ${message}`);
}
