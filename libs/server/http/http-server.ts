import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import { errorFields, type Logger } from '../logger';
import { renderStatusBody, renderStatusPage, type StatusReport } from './status-page';

export interface HttpEndpoints {
  registry: Registry;
  status: () => Promise<StatusReport>;
  log: Logger;
}

/**
 * The service's HTTP port (Vitess: one per binary): /metrics for Prometheus and
 * /debug/status for people. Read-only: nothing here changes the topology.
 */
export class HttpServer {
  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  static async start(listen: string, endpoints: HttpEndpoints): Promise<HttpServer> {
    const server = createServer((req, res) => {
      route(req, res, endpoints).catch((err: unknown) => {
        endpoints.log.error('http request failed', { url: req.url, ...errorFields(err) });
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
        res.end('internal error\n');
      });
    });
    // A keep-alive scrape connection must not hold shutdown.
    server.keepAliveTimeout = 5000;
    const { host, port } = splitHostPort(listen);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    return new HttpServer(server, (server.address() as AddressInfo).port);
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }
}

async function route(req: IncomingMessage, res: ServerResponse, endpoints: HttpEndpoints): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://localhost');
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }).end('method not allowed\n');
    return;
  }
  const noStore = { 'cache-control': 'no-store' };
  switch (url.pathname) {
    case '/metrics': {
      const text = await endpoints.registry.metrics();
      res.writeHead(200, { 'content-type': endpoints.registry.contentType, ...noStore }).end(text);
      return;
    }
    case '/debug/status': {
      const report = await endpoints.status();
      const html = url.searchParams.has('body') ? renderStatusBody(report) : renderStatusPage(report);
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', ...noStore }).end(html);
      return;
    }
    case '/debug/status.json': {
      const report = await endpoints.status();
      const json = JSON.stringify(report, (_key, value: unknown) => (typeof value === 'bigint' ? value.toString() : value), 2);
      res.writeHead(200, { 'content-type': 'application/json', ...noStore }).end(json);
      return;
    }
    case '/':
      res.writeHead(302, { location: '/debug/status' }).end();
      return;
    default:
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: try /metrics or /debug/status\n');
  }
}

function splitHostPort(listen: string): { host: string; port: number } {
  const match = /^\[?([^\]]*)\]?:(\d+)$/.exec(listen);
  if (!match) throw new Error(`listen address must be host:port, got ${JSON.stringify(listen)}`);
  return { host: match[1] || '0.0.0.0', port: Number(match[2]) };
}
