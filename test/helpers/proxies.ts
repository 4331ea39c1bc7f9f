/**
 * Real TLS-terminating proxies for integration tests: nginx, HAProxy and Caddy, started on 127.0.0.1 with client
 * certificate verification required, forwarding the verified client certificate to a plain-HTTP backend in a header.
 * Each runs in the foreground as a child process in its own temp directory and is killed by `stop()`.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './listen.js';

/** The PEM material a proxy needs. */
export interface ProxyTls {
  readonly ca: string;
  readonly cert: string;
  readonly key: string;
}

/** A running proxy. */
export interface RunningProxy {
  /** Where clients connect (TLS, client certificate required). */
  readonly port: number;
  /** The header carrying the forwarded certificate, lower-case. */
  readonly header: string;
  stop(): Promise<void>;
}

/** Which proxies the tests drive. */
export type ProxyKind = 'nginx' | 'haproxy' | 'caddy';

async function waitForPort(port: number, child: ChildProcess, output: () => string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`proxy exited with ${child.exitCode}: ${output()}`);
    const open = await new Promise<boolean>((resolve) => {
      const socket = connect({ host: '127.0.0.1', port }, () => {
        socket.destroy();
        resolve(true);
      });
      socket.on('error', () => resolve(false));
    });
    if (open) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`proxy did not listen on ${port} within 10 s: ${output()}`);
}

function nginxConfig(dir: string, port: number, backend: number, source: string): string {
  return `daemon off;
master_process off;
error_log ${dir}/error.log warn;
pid ${dir}/nginx.pid;
events { worker_connections 256; }
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  server {
    listen 127.0.0.1:${port} ssl;
    ssl_certificate ${dir}/server.pem;
    ssl_certificate_key ${dir}/server-key.pem;
    ssl_client_certificate ${dir}/ca.pem;
    ssl_verify_client on;
    ssl_verify_depth 3;
    location / {
      proxy_pass http://127.0.0.1:${backend};
      proxy_bind ${source};
      proxy_set_header X-SSL-Client-Cert $ssl_client_escaped_cert;
    }
  }
}
`;
}

function haproxyConfig(dir: string, port: number, backend: number, source: string): string {
  return `global
  log stdout format raw local0 warning
defaults
  mode http
  timeout connect 5s
  timeout client 30s
  timeout server 30s
frontend mtls
  bind 127.0.0.1:${port} ssl crt ${dir}/server-combined.pem ca-file ${dir}/ca.pem verify required
  http-request del-header X-SSL-Client-Cert
  http-request set-header X-SSL-Client-Cert %[ssl_c_der,base64]
  default_backend app
backend app
  server app 127.0.0.1:${backend} source ${source}
`;
}

function caddyConfig(dir: string, port: number, backend: number): string {
  return `{
  admin off
  auto_https off
  storage file_system ${dir}/storage
}
https://localhost:${port} {
  bind 127.0.0.1
  tls ${dir}/server.pem ${dir}/server-key.pem {
    client_auth {
      mode require_and_verify
      trusted_ca_cert_file ${dir}/ca.pem
    }
  }
  reverse_proxy 127.0.0.1:${backend} {
    header_up X-Client-Cert {http.request.tls.client.certificate_der_base64}
  }
}
`;
}

/**
 * Starts `kind` on 127.0.0.1 in front of the plain-HTTP `backendPort`, requiring a client certificate from `tls.ca`.
 *
 * Headers: nginx `x-ssl-client-cert` (URL-encoded PEM, `$ssl_client_escaped_cert`); HAProxy `x-ssl-client-cert`
 * (base64 DER); Caddy `x-client-cert` (base64 DER). Caddy answers 421 unless the request's Host header matches its
 * SNI (`localhost:<port>`), so clients must send that Host.
 */
export async function startProxy(
  kind: ProxyKind,
  tls: ProxyTls,
  backendPort: number,
  /** The loopback address nginx and HAProxy connect to the backend from (Caddy always uses 127.0.0.1). */
  sourceAddress = '127.0.0.1',
): Promise<RunningProxy> {
  const dir = mkdtempSync(join(tmpdir(), `koa-mtls-${kind}-`));
  writeFileSync(join(dir, 'ca.pem'), tls.ca);
  writeFileSync(join(dir, 'server.pem'), tls.cert);
  writeFileSync(join(dir, 'server-key.pem'), tls.key, { mode: 0o600 });
  writeFileSync(join(dir, 'server-combined.pem'), `${tls.cert.trim()}\n${tls.key}`, { mode: 0o600 });
  const port = await freePort();
  let child: ChildProcess;
  let header: string;
  if (kind === 'nginx') {
    writeFileSync(join(dir, 'nginx.conf'), nginxConfig(dir, port, backendPort, sourceAddress));
    child = spawn('nginx', ['-p', dir, '-c', join(dir, 'nginx.conf')], { stdio: ['ignore', 'pipe', 'pipe'] });
    header = 'x-ssl-client-cert';
  } else if (kind === 'haproxy') {
    writeFileSync(join(dir, 'haproxy.cfg'), haproxyConfig(dir, port, backendPort, sourceAddress));
    child = spawn('haproxy', ['-db', '-f', join(dir, 'haproxy.cfg')], { stdio: ['ignore', 'pipe', 'pipe'] });
    header = 'x-ssl-client-cert';
  } else {
    writeFileSync(join(dir, 'Caddyfile'), caddyConfig(dir, port, backendPort));
    child = spawn('caddy', ['run', '--adapter', 'caddyfile', '--config', join(dir, 'Caddyfile')], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, HOME: dir, XDG_DATA_HOME: dir, XDG_CONFIG_HOME: dir },
    });
    header = 'x-client-cert';
  }
  let output = '';
  child.stdout?.on('data', (chunk) => {
    output += chunk;
  });
  child.stderr?.on('data', (chunk) => {
    output += chunk;
  });
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await once(child, 'exit');
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitForPort(port, child, () => output);
  } catch (error) {
    await stop();
    throw error;
  }
  return { port, header, stop };
}
