import { ConfigError, parseConfig } from './config';
import { workerHttpListen } from './run-service';

const defaults = { listen: '127.0.0.1:15999', root: '/topo/global' };
const base = ['--backend', 'memory'];

describe('--http-listen', () => {
  it('opens no HTTP port unless asked, and takes host:port from the flag or $TOPO_HTTP_LISTEN', () => {
    expect(parseConfig(base, {}, defaults)?.httpListen).toBeUndefined();
    expect(parseConfig([...base, '--http-listen', '0.0.0.0:15998'], {}, defaults)?.httpListen).toBe('0.0.0.0:15998');
    expect(parseConfig(base, { TOPO_HTTP_LISTEN: '[::1]:15998' }, defaults)?.httpListen).toBe('[::1]:15998');
    expect(parseConfig([...base, '--http-listen', ':15998'], { TOPO_HTTP_LISTEN: '127.0.0.1:1' }, defaults)?.httpListen).toBe(':15998');
  });

  it('refuses an address that is not host:port', () => {
    expect(() => parseConfig([...base, '--http-listen', '15998'], {}, defaults)).toThrow(ConfigError);
    expect(() => parseConfig([...base, '--http-listen', 'localhost'], {}, defaults)).toThrow(/--http-listen must be host:port/);
  });
});

describe('--http-listen with --workers', () => {
  it('gives worker k of N the port P + k - 1, so every process is its own scrape target', () => {
    expect(workerHttpListen('0.0.0.0:16001', 1)).toBe('0.0.0.0:16001');
    expect(workerHttpListen('0.0.0.0:16001', 3)).toBe('0.0.0.0:16003');
    expect(workerHttpListen('[::]:16001', 2)).toBe('[::]:16002');
    expect(workerHttpListen('127.0.0.1:0', 4)).toBe('127.0.0.1:0');
  });
});
