/**
 * `koa-mtls probe <https-origin>`: an authenticated scan of a running mTLS service for routes that reach host
 * resources, driven by the service's own route inventory (`--app`), an OpenAPI 3.x document (`--openapi`), or both.
 *
 * Exit codes: 0 no finding at or above `--fail-on`, 1 findings, 2 usage error.
 *
 * @module cli/probe
 */
import { readFile } from 'node:fs/promises';
import { relative, resolve } from 'node:path';
import { InvalidOptionError } from '../errors.js';
import { createSender, isLoopbackOrigin, parseOrigin } from '../probe/client.js';
import { createDetector, printable } from '../probe/evidence.js';
import type { FindingLevel } from '../probe/findings.js';
import { documentOperations, OpenApiInputError, readOpenApi } from '../probe/openapi-document.js';
import {
  mergeOperations,
  operationsFromDocument,
  operationsFromRoutes,
  type ProbeOperation,
} from '../probe/operations.js';
import { buildPlan, type ProbePlan } from '../probe/plan.js';
import { formatJson, formatSarif, formatTable } from '../probe/report.js';
import { runProbe } from '../probe/run.js';
import { describeRoutes } from '../routes/describe-routes.js';
import { type CommandIo, exitCodes, parseCommandArgs, UsageError } from './command-io.js';
import { loadRoutes } from './routes.js';

const USAGE = `Usage: koa-mtls probe <https-origin> --cert <file> --key <file> --ca <file> [options]

Probes a running mTLS service, with a client certificate, for routes that reach host
resources: every operation with a path parameter, query value or header that could
name a file gets a bounded set of traversal, absolute-path and host-target probes
(/etc/hostname, /etc/hosts, /proc/self/environ, /proc/1/root/..., service-account
tokens, runtime sockets). A leak is decided by the response content, never by the
status code alone. Only <https-origin> is contacted; redirects are never followed.

Routes (at least one):
  --app <module>          the app module, loaded as "koa-mtls routes" loads it
  --openapi <file>        an OpenAPI 3.x document, JSON or YAML

Credentials (PEM files; not needed with --dry-run):
  --cert, --key           the client certificate (chain) and its private key
  --ca                    the CA certificate(s) that issued the server's certificate

Options:
  --json                  print the result as JSON
  --sarif                 print the result as SARIF 2.1.0
  --fail-on <level>       exit 1 on a finding at this level or above:
                          error, warning (default) or never
  --unsafe-methods        also probe POST, PUT, PATCH and DELETE operations
  --max-requests <n>      request budget (default 1000)
  --rate <n>              requests per second at most (default 20)
  --timeout <ms>          per-request timeout (default 10000)
  --guess-query <names>   query names tried on app routes the document does not
                          describe (default name,file,path; "" for none)
  --dry-run               print the plan and send nothing
  -h, --help              this help

Exit codes: 0 no finding at the --fail-on level, 1 findings, 2 usage error.
`;

const FAIL_LEVELS: Readonly<Record<string, readonly FindingLevel[]>> = {
  error: ['error'],
  warning: ['error', 'warning'],
  never: [],
};

function parse(argv: readonly string[]) {
  return parseCommandArgs({
    args: [...argv],
    allowPositionals: true,
    options: {
      cert: { type: 'string' },
      key: { type: 'string' },
      ca: { type: 'string' },
      app: { type: 'string' },
      openapi: { type: 'string' },
      json: { type: 'boolean' },
      sarif: { type: 'boolean' },
      'fail-on': { type: 'string' },
      'unsafe-methods': { type: 'boolean' },
      'max-requests': { type: 'string' },
      rate: { type: 'string' },
      timeout: { type: 'string' },
      'guess-query': { type: 'string' },
      'dry-run': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
}

function number(value: string | undefined, flag: string, fallback: number, max: number): number {
  if (value === undefined) return fallback;
  const parsed = Number(value);
  if (!/^\d+(\.\d+)?$/.test(value) || parsed <= 0 || parsed > max) {
    throw new UsageError(`${flag} must be a number above 0 and at most ${max}, got "${value}"`);
  }
  return parsed;
}

async function readPem(cwd: string, flag: string, file: string | undefined): Promise<string> {
  if (file === undefined) throw new UsageError(`${flag} <file> is required (or use --dry-run)`);
  try {
    return await readFile(resolve(cwd, file), 'utf8');
  } catch (error) {
    throw new UsageError(`${flag} ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
}

async function operationsOf(
  io: CommandIo,
  app: string | undefined,
  openapi: string | undefined,
  guessQuery: readonly string[],
): Promise<ProbeOperation[]> {
  let fromApp: ProbeOperation[] = [];
  if (app !== undefined) {
    const target = await loadRoutes(resolve(io.cwd, app));
    try {
      fromApp = operationsFromRoutes(describeRoutes(target));
    } catch (error) {
      if (error instanceof InvalidOptionError) throw new UsageError(`--app ${app}: ${error.message}`);
      throw error;
    }
  }
  let fromDocument: ProbeOperation[] = [];
  if (openapi !== undefined) {
    try {
      fromDocument = operationsFromDocument(documentOperations(await readOpenApi(resolve(io.cwd, openapi))));
    } catch (error) {
      if (error instanceof OpenApiInputError) throw new UsageError(`--openapi ${error.message}`);
      throw error;
    }
  }
  return mergeOperations(fromApp, fromDocument, guessQuery);
}

function formatPlan(plan: ProbePlan, origin: URL): string {
  const lines = plan.requests.map((request) => {
    const header = Object.entries(request.headers)
      .map(([name, value]) => ` [${name}: ${value}]`)
      .join('');
    const why =
      request.payload === undefined ? request.kind : `${request.payload.form} → ${request.payload.target.path}`;
    return printable(`${request.method} ${origin.origin}${request.path}${header}  (${why})`);
  });
  const notes = [
    `${plan.requests.length} request(s) planned${plan.truncated > 0 ? `, ${plan.truncated} more cut by --max-requests` : ''}; nothing sent (--dry-run)`,
    ...plan.skipped.map((skipped) => `skipped ${printable(skipped.operation)}: ${skipped.reason}`),
  ];
  return `${[...lines, '', ...notes].join('\n')}\n`;
}

/**
 * Runs `koa-mtls probe` with the arguments that follow the command name, and returns the exit code.
 */
export async function runProbeCommand(argv: readonly string[], io: CommandIo): Promise<number> {
  const parsed = parse(argv);
  const { values, positionals } = parsed;
  if (values.help === true) {
    io.stdout(USAGE);
    return exitCodes.ok;
  }
  if (positionals.length !== 1) throw new UsageError('expects exactly one <https-origin> (see koa-mtls probe --help)');
  let origin: URL;
  try {
    origin = parseOrigin(positionals[0] as string);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  if (values.app === undefined && values.openapi === undefined)
    throw new UsageError('needs --app <module>, --openapi <file>, or both');
  if (values.json === true && values.sarif === true) throw new UsageError('--json and --sarif exclude each other');
  const failOn = values['fail-on'] ?? 'warning';
  const failLevels = Object.hasOwn(FAIL_LEVELS, failOn) ? FAIL_LEVELS[failOn] : undefined;
  if (failLevels === undefined) throw new UsageError(`--fail-on must be error, warning or never, got "${failOn}"`);
  const maxRequests = Math.floor(number(values['max-requests'], '--max-requests', 1000, 100_000));
  const rate = number(values.rate, '--rate', 20, 1000);
  const timeoutMs = number(values.timeout, '--timeout', 10_000, 300_000);
  const guessQuery = (values['guess-query'] ?? 'name,file,path')
    .split(',')
    .map((name) => name.trim())
    .filter((name) => name !== '');

  const operations = await operationsOf(io, values.app, values.openapi, guessQuery);
  const plan = buildPlan(operations, { unsafeMethods: values['unsafe-methods'] === true, maxRequests });
  // Nothing to send usually means the wrong export or document: in CI that must not pass as "no findings".
  if (plan.requests.length === 0)
    throw new UsageError('no operation to probe (no routes, or none with a read-only method)');
  if (values['dry-run'] === true) {
    io.stdout(formatPlan(plan, origin));
    return exitCodes.ok;
  }
  const credentials = {
    cert: await readPem(io.cwd, '--cert', values.cert),
    key: await readPem(io.cwd, '--key', values.key),
    ca: await readPem(io.cwd, '--ca', values.ca),
  };
  const detector = await createDetector({ local: isLoopbackOrigin(origin) });
  const sender = createSender(origin, credentials, { timeoutMs, maxBodyBytes: 256 * 1024 });
  const progress = io.isTTY
    ? (done: number, total: number, findings: number) =>
        io.stderr(`\rkoa-mtls probe: ${done}/${total} requests, ${findings} finding(s)${done === total ? '\n' : ''}`)
    : undefined;
  let result: Awaited<ReturnType<typeof runProbe>>;
  try {
    result = await runProbe(plan, sender.send, detector, {
      origin,
      rate,
      ...(progress === undefined ? {} : { onProgress: progress }),
    });
  } finally {
    sender.close();
  }
  if (values.sarif === true) {
    const source = values.app ?? values.openapi;
    io.stdout(formatSarif(result, source === undefined ? undefined : relative(io.cwd, resolve(io.cwd, source))));
  } else if (values.json === true) {
    io.stdout(formatJson(result));
  } else {
    io.stdout(formatTable(result));
  }
  return result.findings.some((finding) => failLevels.includes(finding.level)) ? exitCodes.findings : exitCodes.ok;
}
