/**
 * A fake SPIFFE Workload API in the test process, after go-spiffe's `internal/test/fakeworkloadapi`: real gRPC on a
 * Unix socket, serving the vendored `workload.proto` (loaded here from the .proto file itself, independently of the
 * client's generated descriptor). Like SPIRE's agent it refuses a request without the `workload.spiffe.io: true`
 * header with `InvalidArgument`, answers `PermissionDenied` while no identity is set, and streams the full state to
 * every open stream whenever a test changes it.
 */
import { createPrivateKey } from 'node:crypto';
import { rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import {
  loadPackageDefinition,
  Server,
  ServerCredentials,
  type ServerWritableStream,
  type ServiceDefinition,
  status,
} from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import type { IssuedCertificate } from '../../src/pki/index.js';
import { temporaryDirectory } from '../helpers/temporary-directory.js';

const PROTO = resolve(import.meta.dirname, '../../src/spiffe/proto/workload.proto');

const definition = loadPackageDefinition(loadSync(PROTO, { keepCase: true, defaults: true }));
const service = (definition.SpiffeWorkloadAPI as unknown as { service: ServiceDefinition }).service;

/** The DER bytes of every PEM certificate in `pem`, concatenated (the proto's "ASN.1 DER encoded" bundles). */
export function derOf(pem: string): Buffer {
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  return Buffer.concat(blocks.map((block) => Buffer.from(block.replace(/-----[A-Z ]+-----|\s/g, ''), 'base64')));
}

/** PKCS#8 DER of a PEM private key. */
export function keyDerOf(pem: string): Buffer {
  return createPrivateKey(pem).export({ format: 'der', type: 'pkcs8' });
}

/** One SVID entry of an `X509SVIDResponse`, from a certificate issued by the test PKI. */
export function svidEntry(
  spiffeId: string,
  issued: IssuedCertificate,
  bundlePem: string,
  hint = '',
): Record<string, unknown> {
  return {
    spiffe_id: spiffeId,
    x509_svid: derOf(issued.chain),
    x509_svid_key: keyDerOf(issued.key),
    bundle: derOf(bundlePem),
    hint,
  };
}

type Message = Record<string, unknown>;

/** A running fake agent. */
export interface FakeWorkloadApi {
  /** `unix:///…/agent.sock`. */
  readonly address: string;
  /** Sets the `FetchX509SVID` state and pushes it to every open stream; `undefined` means "no identity". */
  setX509Svid(message: Message | undefined): void;
  /** Sets the `FetchX509Bundles` state and pushes it to every open stream. */
  setX509Bundles(message: Message | undefined): void;
  /** Ends every open stream with `code` (e.g. `status.PERMISSION_DENIED`). */
  failStreams(code: number, details: string): void;
  /** Answers every new stream with `code` instead of data, until called with `undefined`. */
  answerWith(code: number | undefined): void;
  /** How many streams clients have opened, and how many were refused for the missing header. */
  readonly calls: { opened: number; refusedWithoutHeader: number };
  /** The number of streams open now. */
  openStreams(): number;
  /** Stops the agent (the socket goes away), as a crash or restart does. */
  stop(): void;
  /** Starts it again on the same socket, with the same state. */
  restart(): Promise<void>;
  /** Stops it and removes the socket directory. */
  dispose(): void;
}

/** Starts a fake Workload API on a fresh Unix socket, or on `tcp://127.0.0.1:<port>` (SPIFFE Workload Endpoint §4). */
export async function startFakeWorkloadApi(transport: 'unix' | 'tcp' = 'unix'): Promise<FakeWorkloadApi> {
  const dir = temporaryDirectory('spiffe-agent');
  const socket = join(dir.path, 'agent.sock');
  let address = transport === 'unix' ? `unix://${socket}` : 'tcp://127.0.0.1:0';
  let x509Svid: Message | undefined;
  let x509Bundles: Message | undefined;
  const svidStreams = new Set<ServerWritableStream<Message, Message>>();
  const bundleStreams = new Set<ServerWritableStream<Message, Message>>();
  const calls = { opened: 0, refusedWithoutHeader: 0 };
  let server: Server | undefined;
  let forcedCode: number | undefined;

  const serve =
    (streams: Set<ServerWritableStream<Message, Message>>, current: () => Message | undefined) =>
    (call: ServerWritableStream<Message, Message>): void => {
      calls.opened += 1;
      // Workload Endpoint §3, §6: without the security header the agent answers InvalidArgument
      if (call.metadata.get('workload.spiffe.io')[0] !== 'true') {
        calls.refusedWithoutHeader += 1;
        call.emit('error', { code: status.INVALID_ARGUMENT, details: 'security header missing from request' });
        return;
      }
      if (forcedCode !== undefined) {
        call.emit('error', { code: forcedCode, details: 'forced by the test' });
        return;
      }
      const state = current();
      if (state === undefined) {
        call.emit('error', { code: status.PERMISSION_DENIED, details: 'no identity issued' });
        return;
      }
      streams.add(call);
      call.on('cancelled', () => streams.delete(call));
      call.on('close', () => streams.delete(call));
      call.write(state);
    };

  const push = (streams: Set<ServerWritableStream<Message, Message>>, message: Message | undefined): void => {
    for (const call of streams) {
      if (message === undefined) {
        call.emit('error', { code: status.PERMISSION_DENIED, details: 'no identity issued' });
        streams.delete(call);
      } else {
        call.write(message);
      }
    }
  };

  const start = async (): Promise<void> => {
    rmSync(socket, { force: true });
    const next = new Server();
    next.addService(service, {
      FetchX509SVID: serve(svidStreams, () => x509Svid),
      FetchX509Bundles: serve(bundleStreams, () => x509Bundles),
    });
    // gRPC's own target syntax: a Unix path as is, TCP as ipv4:host:port (port 0 the first time, then the same one)
    const target = transport === 'unix' ? address : `ipv4:${address.slice('tcp://'.length)}`;
    const port = await new Promise<number>((done, fail) =>
      next.bindAsync(target, ServerCredentials.createInsecure(), (error, bound) => (error ? fail(error) : done(bound))),
    );
    if (transport === 'tcp') address = `tcp://127.0.0.1:${port}`;
    server = next;
  };

  const stop = (): void => {
    svidStreams.clear();
    bundleStreams.clear();
    server?.forceShutdown();
    server = undefined;
  };

  await start();
  return {
    get address() {
      return address;
    },
    calls,
    setX509Svid(message) {
      x509Svid = message;
      push(svidStreams, message);
    },
    setX509Bundles(message) {
      x509Bundles = message;
      push(bundleStreams, message);
    },
    failStreams(code, details) {
      for (const call of [...svidStreams, ...bundleStreams]) call.emit('error', { code, details });
      svidStreams.clear();
      bundleStreams.clear();
    },
    answerWith(code) {
      forcedCode = code;
    },
    openStreams: () => svidStreams.size + bundleStreams.size,
    stop,
    restart: start,
    dispose() {
      stop();
      dir.dispose();
    },
  };
}
