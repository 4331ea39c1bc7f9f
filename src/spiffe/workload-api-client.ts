/**
 * A SPIFFE Workload API client for the X.509 profile, on `@grpc/grpc-js`: the `FetchX509SVID` and
 * `FetchX509Bundles` streams, each call with the `workload.spiffe.io: true` header, reconnecting with a linear
 * backoff, never retrying `InvalidArgument` (SPIFFE Workload Endpoint §3, §6; Workload API §5.2). Semantics follow go-spiffe's
 * `workloadapi.Client`.
 *
 * @module spiffe/workload-api-client
 */
import { type ClientReadableStream, credentials, Client as GrpcClient, Metadata, status } from '@grpc/grpc-js';
import { fromJSON } from '@grpc/proto-loader';
import { InvalidOptionError, KoaMtlsError } from '../errors.js';
import { assertOptionsObject, optionalInteger, optionalString } from '../options/validate.js';
import { resolveWorkloadApiTarget } from './address.js';
import descriptor from './proto/workload-descriptor.json' with { type: 'json' };

/**
 * One streamed `X509SVIDResponse`, as decoded (bytes are Buffers, absent fields are empty). Validate before use.
 *
 * @example
 * ```ts
 * import { createWorkloadApiClient, type X509SvidMessage } from 'koa-mtls/spiffe';
 *
 * const stop = createWorkloadApiClient().watchX509Svids({
 *   onUpdate: (message: X509SvidMessage) => log.info({ svids: (message.svids as unknown[]).length }),
 *   onError: (error) => log.warn(error.message),
 * });
 * ```
 */
export type X509SvidMessage = Readonly<Record<string, unknown>>;
/**
 * One streamed `X509BundlesResponse`, as decoded. Validate before use.
 *
 * @example
 * ```ts
 * import { createWorkloadApiClient, type X509BundlesMessage } from 'koa-mtls/spiffe';
 *
 * const stop = createWorkloadApiClient().watchX509Bundles({
 *   onUpdate: (message: X509BundlesMessage) => log.info(Object.keys(message.bundles as object), 'trust domains'),
 *   onError: (error) => log.warn(error.message),
 * });
 * ```
 */
export type X509BundlesMessage = Readonly<Record<string, unknown>>;

/**
 * Options of {@link createWorkloadApiClient}.
 *
 * @example
 * ```ts
 * import { createWorkloadApiClient, type WorkloadApiClientOptions } from 'koa-mtls/spiffe';
 *
 * const options: WorkloadApiClientOptions = { address: 'tcp://127.0.0.1:8081', retryInitialMs: 500, retryMaxMs: 10_000 };
 * const client = createWorkloadApiClient(options);
 * ```
 */
export interface WorkloadApiClientOptions {
  /** `unix:///path/to/agent.sock` or `tcp://IP:port`. Default: the `SPIFFE_ENDPOINT_SOCKET` environment variable. */
  readonly address?: string;
  /** First retry delay after a failed or ended stream, in ms, 10–60000. Default 1000 (go-spiffe). */
  readonly retryInitialMs?: number;
  /** Longest retry delay, in ms; the delay grows linearly up to it. 10–600000, default 30000 (go-spiffe). */
  readonly retryMaxMs?: number;
}

/**
 * Receives the messages of one watched stream.
 *
 * @example
 * ```ts
 * import { createWorkloadApiClient, type WorkloadApiWatcher, type X509SvidMessage } from 'koa-mtls/spiffe';
 *
 * const watcher: WorkloadApiWatcher<X509SvidMessage> = {
 *   onUpdate: (message) => log.info({ svids: (message.svids as unknown[]).length }, 'SVID update'),
 *   onError: (error, retrying) => log.warn({ code: error.code, retrying }, error.message),
 * };
 * const stop = createWorkloadApiClient().watchX509Svids(watcher);
 * ```
 */
export interface WorkloadApiWatcher<T> {
  /** Each message, in order. A throw here is reported to `onError` and the stream continues. */
  readonly onUpdate: (message: T) => void;
  /**
   * Each stream failure (`ERR_SPIFFE_WORKLOAD_API`, the gRPC status in `cause`). `retrying` is false only for
   * `InvalidArgument`: the watch then stops for good (a client bug the agent will answer the same way again).
   */
  readonly onError: (error: KoaMtlsError, retrying: boolean) => void;
}

/**
 * A Workload API connection. Each watch is one server stream, re-opened after failures until stopped.
 *
 * @example
 * ```ts
 * import { createWorkloadApiClient, type WorkloadApiClient } from 'koa-mtls/spiffe';
 *
 * const client: WorkloadApiClient = createWorkloadApiClient();
 * log.info({ target: client.target }, 'SPIFFE Workload API');
 * process.on('SIGTERM', () => client.close());
 * ```
 */
export interface WorkloadApiClient {
  /** The gRPC target in use (`unix:///…`, `ipv4:…`, `ipv6:…`). */
  readonly target: string;
  /** Watches `FetchX509SVID`. Returns a function that stops this watch. */
  watchX509Svids(watcher: WorkloadApiWatcher<X509SvidMessage>): () => void;
  /** Watches `FetchX509Bundles`. Returns a function that stops this watch. */
  watchX509Bundles(watcher: WorkloadApiWatcher<X509BundlesMessage>): () => void;
  /** Stops every watch and closes the channel; no timer or socket is left. Idempotent. */
  close(): void;
}

const KNOWN_KEYS = ['address', 'retryInitialMs', 'retryMaxMs'] as const;
const PATH = 'createWorkloadApiClient.options';
const SERVICE = 'SpiffeWorkloadAPI';

interface StreamMethod {
  readonly path: string;
  readonly requestSerialize: (value: object) => Buffer;
  readonly responseDeserialize: (bytes: Buffer) => Record<string, unknown>;
}

// Decoding: bytes as Buffers, absent repeated/map fields as empty, field names as in the proto. The JSON's inferred
// type lacks protobufjs's optional `comment` fields, hence the cast to fromJSON's parameter type.
const service = fromJSON(descriptor as Parameters<typeof fromJSON>[0], {
  keepCase: true,
  defaults: true,
  arrays: true,
  objects: true,
})[SERVICE] as unknown as Readonly<Record<string, StreamMethod | undefined>>;

function streamMethod(name: 'FetchX509SVID' | 'FetchX509Bundles'): StreamMethod {
  const method = service[name];
  if (method === undefined) throw new Error(`workload.proto has no ${name}`);
  return method;
}

const FETCH_X509_SVID = streamMethod('FetchX509SVID');
const FETCH_X509_BUNDLES = streamMethod('FetchX509Bundles');

/** Workload Endpoint §3: every request carries this header, so an SSRF bug cannot reach the API without it. */
function workloadMetadata(): Metadata {
  const metadata = new Metadata();
  metadata.set('workload.spiffe.io', 'true');
  return metadata;
}

function statusName(code: number): string {
  return (status as unknown as Record<number, string>)[code] ?? String(code);
}

/**
 * Connects to the SPIFFE Workload API (lazily: the socket is dialled by the first watch). Options are validated
 * here; a bad address throws an {@link InvalidOptionError}.
 *
 * Each watch re-opens its stream after any failure or end, waiting `retryInitialMs`, then one step more per
 * consecutive failure up to `retryMaxMs`; a received message resets the delay. `Unavailable` (agent restarting) and
 * `PermissionDenied` (workload not entitled yet, Workload API §5.2.1) are retried; `InvalidArgument` stops the watch.
 *
 * @example
 * ```ts
 * import { createWorkloadApiClient } from 'koa-mtls/spiffe';
 *
 * const client = createWorkloadApiClient({ address: 'unix:///run/spire/agent.sock' });
 * const stop = client.watchX509Bundles({
 *   onUpdate: (message) => console.log(Object.keys(message.bundles as object)),
 *   onError: (error, retrying) => console.warn(error.message, { retrying }),
 * });
 * process.on('SIGTERM', () => { stop(); client.close(); });
 * ```
 */
export function createWorkloadApiClient(options: WorkloadApiClientOptions = {}): WorkloadApiClient {
  assertOptionsObject(options, PATH, KNOWN_KEYS);
  const target = resolveWorkloadApiTarget(optionalString(options, 'address', PATH), `${PATH}.address`);
  const retryInitialMs = optionalInteger(options, 'retryInitialMs', PATH, 10, 60_000) ?? 1000;
  const retryMaxMs = optionalInteger(options, 'retryMaxMs', PATH, 10, 600_000) ?? 30_000;
  if (retryMaxMs < retryInitialMs) {
    throw new InvalidOptionError(`${PATH}.retryMaxMs`, `must be at least retryInitialMs (${retryInitialMs})`);
  }

  const grpc = new GrpcClient(target, credentials.createInsecure(), {
    // The channel's own reconnect backoff (default up to 120 s) must not outlast ours after an agent restart
    'grpc.initial_reconnect_backoff_ms': retryInitialMs,
    'grpc.max_reconnect_backoff_ms': retryMaxMs,
  });
  const stops = new Set<() => void>();
  let closed = false;

  const watch = <T>(method: StreamMethod, watcher: WorkloadApiWatcher<T>): (() => void) => {
    if (closed) throw new KoaMtlsError('ERR_SPIFFE_CLOSED', 'the Workload API client is closed');
    let stopped = false;
    let call: ClientReadableStream<T> | undefined;
    let timer: NodeJS.Timeout | undefined;
    let failures = 0;

    const open = (): void => {
      timer = undefined;
      if (stopped) return;
      const stream: ClientReadableStream<T> = grpc.makeServerStreamRequest(
        method.path,
        method.requestSerialize,
        method.responseDeserialize as unknown as (bytes: Buffer) => T,
        {},
        workloadMetadata(),
        {},
      );
      call = stream;
      stream.on('data', (message: T) => {
        failures = 0;
        try {
          watcher.onUpdate(message);
        } catch (error) {
          watcher.onError(
            new KoaMtlsError('ERR_SPIFFE_WORKLOAD_API', 'a Workload API update handler threw', { cause: error }),
            true,
          );
        }
      });
      // Every stream ends with exactly one status: OK when the agent closed it, an error code otherwise
      stream.on('status', ({ code, details }: { code: number; details: string }) => {
        if (call !== stream || stopped) return;
        call = undefined;
        // Workload Endpoint §6: InvalidArgument means a client bug (no header); retrying cannot help
        const retrying = code !== status.INVALID_ARGUMENT;
        watcher.onError(
          new KoaMtlsError(
            'ERR_SPIFFE_WORKLOAD_API',
            `Workload API ${method.path} at ${target} ended: ${statusName(code)}${details === '' ? '' : ` (${details})`}`,
            { cause: { code, details } },
          ),
          retrying,
        );
        if (!retrying || stopped) return;
        failures += 1;
        // go-spiffe's linear backoff: initial, 2×initial, … capped at the maximum
        timer = setTimeout(open, Math.min(retryInitialMs * failures, retryMaxMs));
        timer.unref();
      });
      // Errors also arrive as 'status'; this listener only keeps an unhandled 'error' from crashing the process
      stream.on('error', () => undefined);
    };

    const stop = (): void => {
      if (stopped) return;
      stopped = true;
      stops.delete(stop);
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
      call?.cancel();
      call = undefined;
    };
    stops.add(stop);
    open();
    return stop;
  };

  return Object.freeze({
    target,
    watchX509Svids: (watcher: WorkloadApiWatcher<X509SvidMessage>) => watch(FETCH_X509_SVID, watcher),
    watchX509Bundles: (watcher: WorkloadApiWatcher<X509BundlesMessage>) => watch(FETCH_X509_BUNDLES, watcher),
    close(): void {
      if (closed) return;
      closed = true;
      for (const stop of [...stops]) stop();
      grpc.close();
    },
  });
}
