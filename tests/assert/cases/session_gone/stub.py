# A stand-in for a mockapi with sessions, for what mockassert must say
# about them: X-Mockapi-Session "ends-1" is identified (GET /test/assertions
# is the real mockapi's, argv[1]) and then gone; any other id was never
# there (404, mockapi's body); no session at all is refused as by
# mockapi -sessions required (428). Prints PORT=N once it listens.
import http.server, json, sys, urllib.request

real = sys.argv[1]

class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def answer(self, status, body):
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def any(self):
        n = int(self.headers.get("Content-Length") or 0)
        if n:
            self.rfile.read(n)
        sid = self.headers.get("X-Mockapi-Session")
        if sid is None:
            self.answer(428, json.dumps({"error": "this mockapi wants a session"}) + "\n")
        elif sid == "ends-1" and self.path == "/test/assertions":
            with urllib.request.urlopen("http://%s/test/assertions" % real, timeout=10) as r:
                self.answer(200, r.read().decode())
        else:
            msg = 'no session "%s" (it ended, expired or never existed)' % sid
            self.answer(404, json.dumps({"error": msg}) + "\n")

    do_GET = do_POST = any

    def log_message(self, *a):
        pass

s = http.server.HTTPServer(("127.0.0.1", 0), H)
print("PORT=%d" % s.server_address[1], flush=True)
s.serve_forever()
