/**
 * `koa-mtls routes <module>`: loads an application module, lists its routes with the identity policy and sandbox that
 * guard each one (table, JSON or OpenAPI 3.1), and exits non-zero with `--fail-on-unguarded` when a route has no
 * enforcing policy.
 *
 * Exit codes: 0 listed, 1 `--fail-on-unguarded` and a route without an enforcing policy (or no route at all), 2 usage
 * error (bad flags, a module that cannot be loaded or exports no router).
 *
 * @module cli/routes
 */
import { readFile, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { InvalidOptionError } from '../errors.js';
import { documentOperations, OpenApiInputError, readOpenApi } from '../probe/openapi-document.js';
import { diffSecurity, formatSpecDiff } from '../probe/spec-diff.js';
import { describeRoutes, type RouteDescription } from '../routes/describe-routes.js';
import { formatRoutes } from '../routes/format-routes.js';
import { openapiSecurity } from '../routes/openapi-security.js';
import { type CommandIo, exitCodes, parseCommandArgs, UsageError } from './command-io.js';

const USAGE = `Usage: koa-mtls routes <module> [options]

Loads <module> (an ESM or CommonJS file, or TypeScript through tsx when it is installed,
resolved from the current directory) and lists every @koa/router route with the
requirePeer policies and sandboxPath sandboxes that run before its handler. The command
always exits when it is done, even if the module started a server.

The module exports, in this order of preference:
  router                  a @koa/router router or a Koa app (named export)
  app                     a Koa app or a router (named export)
  default                 a router, a Koa app, or an object with one of these exports
  createRouter()          a function returning (or resolving to) a router
  createApp()             a function returning (or resolving to) a Koa app, a router, or
                          an object with a "router" or "app" property
Factories are called with no arguments; they must not start a server.

Options:
  --json                  print the inventory as JSON
  --openapi               print an OpenAPI 3.1 document (mutualTLS scheme, x-koa-mtls)
  --openapi <spec>        with a spec file (JSON or YAML) right after it: compare the
                          mutualTLS security the spec declares per operation with the
                          router's enforcing policies; exit 1 when they differ
  --document <file.json>  with --openapi: merge into this OpenAPI 3.1 document
  --include-sandbox-roots with --openapi: include sandbox roots (filesystem paths)
  --fail-on-unguarded     exit 1 when a route has no policy in enforce mode and is not
                          declared with allowAnonymous() (or when the module has no routes)
  --timeout <seconds>     give up (exit 2) when loading the module takes longer (default 30)
  -h, --help              this help

Exit codes: 0 listed, 1 --fail-on-unguarded and an unguarded route, 2 usage error.
`;

const NO_ROUTER =
  'exports no router: export `router`, `app` or a default, or a createRouter()/createApp() factory (see --help)';

function isObject(value: unknown): value is Record<string, unknown> {
  return (typeof value === 'object' && value !== null) || typeof value === 'function';
}

/** A router or app value, as opposed to a namespace or wrapper object that holds one. */
function isRouterOrApp(value: unknown): boolean {
  if (!isObject(value)) return false;
  return (
    (Array.isArray(value.stack) && typeof value.routes === 'function') ||
    (Array.isArray(value.middleware) && typeof value.callback === 'function')
  );
}

/** The router (or app) a module exports, following the documented order of preference. */
async function routerOf(namespace: Record<string, unknown>): Promise<unknown> {
  // A CommonJS `module.exports = { router }` arrives as `default`: look one level into it.
  const sources = [namespace, isObject(namespace.default) ? namespace.default : {}];
  for (const source of sources) {
    for (const key of ['router', 'app'] as const) if (isRouterOrApp(source[key])) return source[key];
  }
  if (isRouterOrApp(namespace.default)) return namespace.default;
  for (const source of sources) {
    for (const key of ['createRouter', 'createApp'] as const) {
      const factory = source[key];
      if (typeof factory !== 'function') continue;
      const made: unknown = await (factory as () => unknown)();
      if (isRouterOrApp(made)) return made;
      if (isObject(made)) for (const inner of ['router', 'app']) if (isRouterOrApp(made[inner])) return made[inner];
      throw new UsageError(`${key}() returned neither a router nor a Koa app`);
    }
  }
  throw new UsageError(NO_ROUTER);
}

const TYPESCRIPT = /\.(?:[cm]?ts|tsx)$/i;
const DEFAULT_TIMEOUT_SECONDS = 30;

type TsImport = (specifier: string, parentUrl: string) => Promise<unknown>;

/** tsx's `tsImport`, from the module's own project first, then from beside koa-mtls; undefined if absent. */
async function findTsImport(file: string): Promise<TsImport | undefined> {
  for (const base of [file, fileURLToPath(import.meta.url)]) {
    let manifestPath: string;
    try {
      manifestPath = createRequire(base).resolve('tsx/package.json');
    } catch {
      continue;
    }
    // The ESM entry of tsx/esm/api (its CommonJS twin cannot load tsx's hooks when imported from ESM).
    const manifest = JSON.parse(await readFile(manifestPath, 'utf8')) as {
      exports?: Record<string, { import?: { default?: string } }>;
    };
    const entry = manifest.exports?.['./esm/api']?.import?.default;
    if (entry === undefined) continue;
    const api = (await import(pathToFileURL(resolve(dirname(manifestPath), entry)).href)) as { tsImport?: TsImport };
    if (typeof api.tsImport === 'function') return api.tsImport;
  }
  return undefined;
}

async function importModule(file: string): Promise<Record<string, unknown>> {
  const url = pathToFileURL(file).href;
  if (!TYPESCRIPT.test(file)) return (await import(url)) as Record<string, unknown>;
  const tsImport = await findTsImport(file);
  if (tsImport === undefined) {
    throw new UsageError(
      `${file}: a TypeScript module needs tsx: run "npm install --save-dev tsx", or build it and pass the .js file`,
    );
  }
  return (await tsImport(url, url)) as Record<string, unknown>;
}

/** Loads an application module and returns the router or app it exports (see the usage text), within a bound. */
export async function loadRoutes(file: string, timeoutSeconds = DEFAULT_TIMEOUT_SECONDS): Promise<unknown> {
  const stats = await stat(file).catch(() => undefined);
  if (stats === undefined || !stats.isFile()) throw new UsageError(`${file}: no such file`);
  let timer: NodeJS.Timeout | undefined;
  // A module that awaits a server or a connection at top level would hang a CI job: give up after a bound.
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new UsageError(
            `${file}: did not finish loading within ${timeoutSeconds} s; export the router without awaiting a server (or raise --timeout)`,
          ),
        ),
      timeoutSeconds * 1000,
    );
    timer.unref();
  });
  try {
    const namespace = await Promise.race([
      importModule(file).catch((error: unknown) => {
        if (error instanceof UsageError) throw error;
        throw new UsageError(`${file}: cannot load (${error instanceof Error ? error.message : String(error)})`);
      }),
      timeout,
    ]);
    return await Promise.race([routerOf(namespace), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function parseTimeout(value: string | undefined): number {
  if (value === undefined) return DEFAULT_TIMEOUT_SECONDS;
  const seconds = Number(value);
  if (!/^[0-9]+$/.test(value) || seconds < 1 || seconds > 3600) {
    throw new UsageError(`--timeout must be 1..3600 seconds, got "${value}"`);
  }
  return seconds;
}

async function readDocument(cwd: string, file: string): Promise<Record<string, unknown>> {
  try {
    return JSON.parse(await readFile(resolve(cwd, file), 'utf8')) as Record<string, unknown>;
  } catch (error) {
    const reason = error instanceof Error ? ((error as NodeJS.ErrnoException).code ?? error.message) : String(error);
    throw new UsageError(`--document ${file}: ${reason}`);
  }
}

function parse(argv: readonly string[]) {
  return parseCommandArgs({
    args: [...argv],
    allowPositionals: true,
    tokens: true,
    options: {
      json: { type: 'boolean' },
      openapi: { type: 'boolean' },
      document: { type: 'string' },
      'include-sandbox-roots': { type: 'boolean' },
      'fail-on-unguarded': { type: 'boolean' },
      timeout: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
}

/** `--openapi <spec>`: with two positionals, the one right after `--openapi` is a spec to compare against. */
function specOf({ tokens, positionals }: ReturnType<typeof parse>): { spec: string; module: string } | undefined {
  if (positionals.length !== 2) return undefined;
  const flag = tokens.find((token) => token.kind === 'option' && token.name === 'openapi');
  const inputs = tokens.filter((token) => token.kind === 'positional');
  const at = inputs.findIndex((token) => token.index === (flag?.index ?? -2) + 1);
  if (at < 0) return undefined;
  return { spec: inputs[at]?.value as string, module: inputs[1 - at]?.value as string };
}

/** `koa-mtls routes <module> --openapi <spec>`: the spec's declared security against the router's guards. */
async function diffAgainstSpec(
  io: CommandIo,
  file: string,
  spec: string,
  json: boolean,
  timeoutSeconds: number,
): Promise<number> {
  let operations: ReturnType<typeof documentOperations>;
  try {
    operations = documentOperations(await readOpenApi(resolve(io.cwd, spec)));
  } catch (error) {
    if (error instanceof OpenApiInputError) throw new UsageError(`--openapi ${error.message}`);
    throw error;
  }
  let routes: readonly RouteDescription[];
  try {
    routes = describeRoutes(await loadRoutes(resolve(io.cwd, file), timeoutSeconds));
  } catch (error) {
    if (error instanceof InvalidOptionError) throw new UsageError(`${file}: ${error.message}`);
    throw error;
  }
  const differences = diffSecurity(operations, routes);
  io.stdout(
    json
      ? `${JSON.stringify({ schema: 'koa-mtls/routes-openapi-diff@1', differences }, null, 2)}\n`
      : formatSpecDiff(differences, spec),
  );
  return differences.length === 0 ? exitCodes.ok : exitCodes.findings;
}

/**
 * Runs `koa-mtls routes` with the arguments that follow the command name, and returns the exit code.
 */
export async function runRoutes(argv: readonly string[], io: CommandIo): Promise<number> {
  const parsed = parse(argv);
  const { values, positionals } = parsed;
  if (values.help === true) {
    io.stdout(USAGE);
    return exitCodes.ok;
  }
  const compare = specOf(parsed);
  if (compare !== undefined) {
    if (
      values.document !== undefined ||
      values['include-sandbox-roots'] === true ||
      values['fail-on-unguarded'] === true
    ) {
      throw new UsageError(
        '--openapi <spec> compares; --document, --include-sandbox-roots and --fail-on-unguarded do not apply',
      );
    }
    return diffAgainstSpec(io, compare.module, compare.spec, values.json === true, parseTimeout(values.timeout));
  }
  if (positionals.length !== 1) throw new UsageError('expects exactly one <module> (see koa-mtls routes --help)');
  if (values.json === true && values.openapi === true) throw new UsageError('--json and --openapi exclude each other');
  if (values.openapi !== true && (values.document !== undefined || values['include-sandbox-roots'] === true)) {
    throw new UsageError('--document and --include-sandbox-roots need --openapi');
  }
  const file = resolve(io.cwd, positionals[0] as string);
  const target = await loadRoutes(file, parseTimeout(values.timeout));
  let routes: readonly RouteDescription[];
  let output: string;
  try {
    routes = describeRoutes(target);
    if (values.openapi === true) {
      const document = values.document === undefined ? undefined : await readDocument(io.cwd, values.document);
      const merged = openapiSecurity(target, {
        ...(document === undefined ? {} : { document }),
        includeSandboxRoots: values['include-sandbox-roots'] === true,
      });
      output = `${JSON.stringify(merged, null, 2)}\n`;
    } else if (values.json === true) {
      output = `${JSON.stringify({ schema: 'koa-mtls/routes@1', routes }, null, 2)}\n`;
    } else {
      output = formatRoutes(routes);
    }
  } catch (error) {
    if (error instanceof InvalidOptionError) throw new UsageError(`${positionals[0]}: ${error.message}`);
    throw error;
  }
  io.stdout(output);
  const failOnUnguarded = values['fail-on-unguarded'] === true;
  if (routes.length === 0) {
    // An empty inventory usually means the wrong export: in CI that must not pass as "nothing unguarded".
    io.stderr(`koa-mtls routes: no routes found in ${positionals[0]}\n`);
    return failOnUnguarded ? exitCodes.findings : exitCodes.ok;
  }
  // An allowAnonymous() route is declared on purpose; any other route a certificate-less client reaches is not.
  const unguarded = routes.filter((route) => !route.guarded && !route.anonymous);
  if (!failOnUnguarded || unguarded.length === 0) return exitCodes.ok;
  const list = unguarded.map((route) => `${route.methods.join(',')} ${route.path}`).join(', ');
  io.stderr(`koa-mtls routes: ${unguarded.length} route(s) without an enforcing policy: ${list}\n`);
  return exitCodes.findings;
}
