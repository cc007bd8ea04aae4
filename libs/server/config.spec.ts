import { ConfigError, parseConfig } from './config';

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
