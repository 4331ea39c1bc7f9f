import { once } from 'node:events';
import { createServer as createHttp1Server, request as http1Request } from 'node:http';
import { type ClientHttp2Session, connect, createServer as createHttp2Server } from 'node:http2';
import Koa, { type Context } from 'koa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { http2SessionOf } from '../../src/tls/http2-session.js';
import { close, listen } from '../helpers/listen.js';

/** Each request's session, as the accessor sees it. */
const seen: unknown[] = [];
const app = new Koa();
app.use((ctx: Context) => {
  const session = http2SessionOf(ctx);
  seen.push(session);
  ctx.body = session === undefined ? 'none' : typeof session.destroy;
});

const http2 = createHttp2Server(app.callback());
const http1 = createHttp1Server(app.callback());
let http2Port = 0;
let http1Port = 0;

beforeAll(async () => {
  http2Port = await listen(http2 as never);
  http1Port = await listen(http1);
});
afterAll(async () => {
  await close(http2 as never);
  await close(http1);
});

async function get(session: ClientHttp2Session): Promise<string> {
  const stream = session.request({ ':path': '/' });
  stream.setEncoding('utf8');
  let body = '';
  stream.on('data', (chunk: string) => {
    body += chunk;
  });
  await once(stream, 'end');
  return body;
}

describe('http2SessionOf', () => {
  it('is undefined over HTTP/1.1', async () => {
    seen.length = 0;
    const response = await new Promise<string>((resolve, reject) => {
      http1Request({ host: '127.0.0.1', port: http1Port, path: '/' }, (res) => {
        res.setEncoding('utf8');
        let body = '';
        res.on('data', (chunk: string) => {
          body += chunk;
        });
        res.on('end', () => resolve(body));
      })
        .on('error', reject)
        .end();
    });
    expect(response).toBe('none');
    expect(seen).toEqual([undefined]);
  });

  it('is the one session of an HTTP/2 connection for each of its streams, and another for another connection', async () => {
    seen.length = 0;
    const first = connect(`http://127.0.0.1:${http2Port}`);
    const second = connect(`http://127.0.0.1:${http2Port}`);
    try {
      expect(await Promise.all([get(first), get(first), get(second)])).toEqual(['function', 'function', 'function']);
    } finally {
      first.close();
      second.close();
    }
    expect(seen).toHaveLength(3);
    expect(new Set(seen).size).toBe(2);
  });
});
