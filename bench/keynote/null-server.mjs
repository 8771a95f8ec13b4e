// A server that does nothing: it reads each request and answers success at once, on both
// request shapes of bench/keynote/runner.mjs (`POST /api/mutation` -> {"status":"success"},
// `POST /rpc` -> {"ok":true}). bench/keynote.py --targets null runs the load generator
// against it: the transfers/s it reaches is the load generator's ceiling on this machine
// (with the server sharing the CPU, as every target does).
import http from 'node:http';

const port = Number(process.env.PORT ?? 4199);

const server = http.createServer((req, res) => {
  let buf = '';
  req.on('data', (chunk) => {
    buf += chunk;
  });
  req.on('end', () => {
    res.statusCode = 200;
    res.setHeader('content-type', 'application/json');
    if (req.url?.startsWith('/rpc')) {
      res.end('{"ok":true}');
    } else {
      res.end('{"status":"success","value":null,"logLines":[]}');
    }
  });
});

server.listen(port, '127.0.0.1', () => {
  console.log(`null server listening on http://127.0.0.1:${port}`);
});
