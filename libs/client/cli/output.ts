import type { CliIo } from './cli-io';
import { readableJson } from './record-format';

/** Everything a command prints goes through here, so --json and human output stay apart. */
export class Output {
  constructor(
    private readonly io: CliIo,
    readonly json: boolean,
  ) {}

  /** A command's result: `json` as JSON with --json, otherwise what `human` prints. */
  result(json: unknown, human: () => void): void {
    if (this.json) this.printJson(json);
    else human();
  }

  /** Pretty JSON for one result; `compact` for streams of one object a line. */
  printJson(value: unknown, compact = false): void {
    this.io.stdout.write(`${JSON.stringify(readableJson(JSON.parse(JSON.stringify(value, jsonValue) ?? 'null')), null, compact ? undefined : 2)}\n`);
  }

  line(text: string): void {
    this.io.stdout.write(`${text}\n`);
  }

  raw(bytes: Uint8Array): void {
    this.io.stdout.write(bytes);
  }

  /** Columns padded to their widest cell, two spaces apart, headers upper-cased. */
  table(headers: string[], rows: string[][]): void {
    const all = [headers.map((h) => h.toUpperCase()), ...rows];
    const widths = headers.map((_, column) => Math.max(...all.map((row) => (row[column] ?? '').length)));
    for (const row of all) {
      this.line(row.map((cell, column) => (column === row.length - 1 ? cell : cell.padEnd(widths[column]))).join('  ').trimEnd());
    }
  }

  /** `name  value` lines with the names aligned, for a single record. */
  fields(rows: Array<[string, string]>): void {
    const width = Math.max(0, ...rows.map(([name]) => name.length));
    for (const [name, value] of rows) this.line(`${`${name}:`.padEnd(width + 1)}  ${value}`.trimEnd());
  }

  /** Progress and warnings: stderr, so they never mix with output a script parses. */
  note(text: string): void {
    this.io.stderr.write(`${text}\n`);
  }

  error(text: string): void {
    this.io.stderr.write(`error: ${text}\n`);
  }
}

/** int64 fields are strings already; bigints computed here print the same way. */
function jsonValue(_key: string, value: unknown): unknown {
  if (typeof value === 'bigint') return value.toString();
  return value;
}
