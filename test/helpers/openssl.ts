/** `openssl s_client` against 127.0.0.1 with SNI `localhost`: its arguments, and one HTTP/1.0 GET sent through it. */
import { type ProcessResult, runProgram } from './processes.js';

/** What the client verifies the server with, what it presents, and any further `s_client` options. */
export interface SClientOptions {
  readonly caFile: string;
  readonly certFile?: string;
  readonly keyFile?: string;
  /** More `s_client` options (`-quiet`, `-tls1_2`, `-cipher …`). */
  readonly extra?: readonly string[];
}

/** The `s_client` arguments for a connection to 127.0.0.1:`port`. */
export function sClientArgs(port: number, options: SClientOptions): string[] {
  return [
    's_client',
    '-connect',
    `127.0.0.1:${port}`,
    '-servername',
    'localhost',
    '-CAfile',
    options.caFile,
    ...(options.certFile === undefined ? [] : ['-cert', options.certFile]),
    ...(options.keyFile === undefined ? [] : ['-key', options.keyFile]),
    ...(options.extra ?? []),
  ];
}

/** Sends `GET / HTTP/1.0` through `s_client` (bounded, default 10 s) and resolves with its exit code and output. */
export function sClientGet(
  port: number,
  options: SClientOptions & { readonly env?: Readonly<Record<string, string>>; readonly timeoutMs?: number },
): Promise<ProcessResult> {
  return runProgram('openssl', sClientArgs(port, options), {
    input: 'GET / HTTP/1.0\r\nHost: localhost\r\n\r\n',
    ...(options.env === undefined ? {} : { env: options.env }),
    ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
  });
}
