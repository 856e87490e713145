#!/usr/bin/env python3
"""gitauth_server.py -- git http-backend behind HTTP basic or bearer authentication, for tests.

usage: gitauth_server.py PORT_FILE ROOT USER PASSWORD BEARER_TOKEN
Serves every repository under ROOT with smart HTTP. A request without valid
credentials gets 401 with a Basic challenge; a wrong one 401 too. Each request
is logged (method, path, whether and how it was authenticated) on stderr,
never the credentials themselves.
"""
import base64, hmac, http.server, os, socket, subprocess, sys

port_file, root, user, password, bearer = sys.argv[1:6]


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"

    def authorized(self):
        auth = self.headers.get("Authorization", "")
        if auth.startswith("Basic "):
            want = base64.b64encode(f"{user}:{password}".encode()).decode()
            return hmac.compare_digest(auth[6:].strip(), want) and "basic"
        if auth.startswith("Bearer "):
            return hmac.compare_digest(auth[7:].strip(), bearer) and "bearer"
        return False

    def handle_any(self):
        how = self.authorized()
        sys.stderr.write(f"{self.command} {self.path.split('?')[0]} auth={how or 'none'}\n")
        if not how:
            self.send_response(401)
            self.send_header("WWW-Authenticate", 'Basic realm="git"')
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        path, _, query = self.path.partition("?")
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        env = dict(os.environ, GIT_PROJECT_ROOT=root, GIT_HTTP_EXPORT_ALL="1", PATH_INFO=path,
                   QUERY_STRING=query, REQUEST_METHOD=self.command, REMOTE_USER=user,
                   CONTENT_TYPE=self.headers.get("Content-Type", ""), CONTENT_LENGTH=str(len(body)),
                   GIT_CONFIG_COUNT="1", GIT_CONFIG_KEY_0="safe.directory", GIT_CONFIG_VALUE_0="*")
        out = subprocess.run(["git", "http-backend"], input=body, env=env, capture_output=True).stdout
        head, _, payload = out.partition(b"\r\n\r\n")
        status, headers = 200, []
        for line in head.split(b"\r\n"):
            k, _, v = line.decode().partition(":")
            if k.lower() == "status":
                status = int(v.split()[0])
            elif k:
                headers.append((k, v.strip()))
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = handle_any

    def log_message(self, *args):
        pass


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
with open(port_file + ".tmp", "w") as f:
    f.write(str(server.server_address[1]))
os.rename(port_file + ".tmp", port_file)
server.serve_forever()
