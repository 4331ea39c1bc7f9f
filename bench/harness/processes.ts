/**
 * Child processes of a benchmark run: servers and load generators each get their own process (and so their own
 * event loop), started with the tsx loader. With `taskset` available, the server is pinned to CPU 0 and everything
 * else (load generator, runner) to CPU 1, so they never compete for the same core.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import type { AppResult } from './server-cpu.js';

const here = (file: string) => fileURLToPath(new URL(file, import.meta.url));

/** Result of one load run. */
export interface LoadResult {
  readonly requests: number;
  readonly errors: number;
  readonly seconds: number;
  /** The server's CPU time per request in the measured window (user + system). */
  readonly cpuMicrosPerRequest: number | undefined;
  /** Each app's share of the window, in the server's order (one entry unless the server interleaves variants). */
  readonly apps: readonly AppResult[];
}

/** CPU pinning: whether `taskset` works here, and on which CPU each role runs. */
export const pinning = {
  available: spawnSync('taskset', ['-c', '0', 'true']).status === 0,
  server: '0',
  load: '1',
};

function tsx(
  script: string,
  args: readonly string[],
  nodeFlags: readonly string[] = [],
  cpu: string = pinning.load,
): ChildProcess {
  const command = [process.execPath, ...nodeFlags, '--import', 'tsx', here(script), ...args];
  const [file, ...rest] = pinning.available ? ['taskset', '-c', cpu, ...command] : command;
  return spawn(file as string, rest, { stdio: ['ignore', 'pipe', 'inherit'] });
}

async function firstLine(child: ChildProcess): Promise<string> {
  let buffer = '';
  for await (const chunk of child.stdout as NodeJS.ReadableStream) {
    buffer += chunk.toString();
    const newline = buffer.indexOf('\n');
    if (newline >= 0) return buffer.slice(0, newline);
  }
  throw new Error('child process ended without output');
}

/** A running benchmark server. */
export interface RunningServer {
  readonly port: number;
  stop(): Promise<void>;
}

/** Starts `variant` (or a comma-separated list, served interleaved) in its own process and waits for its port. */
export async function startServer(
  variant: string,
  fixturesPath: string,
  nodeFlags: readonly string[] = [],
  serverFlags: readonly string[] = [],
): Promise<RunningServer> {
  const child = tsx('./server.ts', [variant, fixturesPath, ...serverFlags], nodeFlags, pinning.server);
  const { port } = JSON.parse(await firstLine(child)) as { port: number };
  return {
    port,
    async stop() {
      child.kill('SIGTERM');
      if (child.exitCode === null) await once(child, 'exit');
    },
  };
}

/** Runs `script` with `args` to completion and parses the JSON it prints. */
export async function runJson<T>(
  script: string,
  args: readonly string[],
  nodeFlags: readonly string[] = [],
): Promise<T> {
  const child = tsx(script, args, nodeFlags);
  let output = '';
  for await (const chunk of child.stdout as NodeJS.ReadableStream) output += chunk.toString();
  if (child.exitCode === null) await once(child, 'exit');
  if (child.exitCode !== 0) throw new Error(`${script} exited with ${child.exitCode}`);
  return JSON.parse(output) as T;
}

/**
 * Runs a load generator: `keep-alive-load.ts` (one warm-up and measured window) or `handshake-load.ts` (priming, then
 * `windows` warm-ups and measured windows against the same server). One result per window.
 */
export async function runLoad(
  generator: 'keep-alive' | 'handshake',
  fixturesPath: string,
  port: number,
  path: string,
  seconds: number,
  concurrency: number,
  warmupSeconds: number,
  clients = 1000,
  windows = 1,
): Promise<LoadResult[]> {
  const args = [fixturesPath, String(port), path, String(seconds), String(concurrency), String(warmupSeconds)];
  if (generator === 'keep-alive') return [await runJson<LoadResult>('./keep-alive-load.ts', args)];
  return runJson<LoadResult[]>('./handshake-load.ts', [...args, String(clients), String(windows)]);
}
