/**
 * Shared by the runnable examples: a throwaway development PKI in a temporary directory, so every example runs with
 * nothing to configure. In production the files come from your PKI (SPIRE, cert-manager, a corporate CA).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { type CertificateAuthority, type CertificateOptions, createCertificateAuthority } from 'koa-mtls/pki';

/** The server's files, as `mtlsOptions` takes them. */
export interface ServerFiles {
  readonly keyFile: string;
  readonly certFile: string;
  readonly caFile: string;
}

/** A development PKI written to `dir`. */
export interface LocalPki {
  readonly dir: string;
  readonly ca: CertificateAuthority;
  readonly server: ServerFiles;
  /** Issues a client certificate into `dir` as `<name>.pem` / `<name>-key.pem` and returns curl flags for it. */
  client(name: string, options?: CertificateOptions): Promise<{ certFile: string; keyFile: string; curl: string }>;
}

const temporary = new Set<string>();

/**
 * Removes `path` when the example ends — normally, or by Ctrl-C (SIGINT) or SIGTERM — so no private key is left in
 * the temporary directory. Returns `path`.
 */
export function removeOnExit(path: string): string {
  if (temporary.size === 0) {
    const clean = () => {
      for (const dir of temporary) rmSync(dir, { recursive: true, force: true });
      temporary.clear();
    };
    process.once('exit', clean);
    for (const [signal, code] of [
      ['SIGINT', 130],
      ['SIGTERM', 143],
    ] as const) {
      process.once(signal, () => {
        clean();
        process.exit(code);
      });
    }
  }
  temporary.add(path);
  return path;
}

/** Makes a root CA and a `localhost` server certificate in a new temporary directory, removed on exit. */
export async function createLocalPki(
  dir = removeOnExit(mkdtempSync(join(tmpdir(), 'koa-mtls-example-'))),
): Promise<LocalPki> {
  const ca = await createCertificateAuthority({ subject: 'CN=koa-mtls example root' });
  const server = await ca.issueServer();
  const write = (name: string, content: string, secret = false) => {
    const path = join(dir, name);
    writeFileSync(path, content, { mode: secret ? 0o600 : 0o644 });
    return path;
  };
  const files = {
    keyFile: write('server-key.pem', server.key, true),
    certFile: write('server.pem', server.chain),
    caFile: write('ca.pem', ca.root),
  };
  return {
    dir,
    ca,
    server: files,
    async client(name, options = {}) {
      const issued = await ca.issueClient(options);
      const certFile = write(`${name}.pem`, issued.chain);
      const keyFile = write(`${name}-key.pem`, issued.key, true);
      return { certFile, keyFile, curl: `curl --cacert ${files.caFile} --cert ${certFile} --key ${keyFile}` };
    },
  };
}

/** Runs `main` when the example file is executed directly (`npx tsx examples/<file>.ts`), not when imported. */
export function runIfMain(moduleUrl: string, main: () => Promise<void>): void {
  const entry = process.argv[1];
  if (entry !== undefined && pathToFileURL(entry).href === moduleUrl) {
    main().catch((error: unknown) => {
      console.error(error);
      process.exitCode = 1;
    });
  }
}
