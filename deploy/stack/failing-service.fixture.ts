/** A service that dies before serving, saying why on stderr, as a service does when its port is taken. */
process.stdout.write(`${JSON.stringify({ level: 'info', msg: 'starting' })}\n`);
process.stderr.write(`listen failed: bind EADDRINUSE 127.0.0.1:${process.argv[2] ?? '15999'}\n`);
process.exit(1);
