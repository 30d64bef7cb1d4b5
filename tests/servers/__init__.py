"""A harness that runs real nginx and Apache httpd on loopback for tests/test_real_servers.py.

network   free ports, waiting for a listener
process   find a server binary (skip, or fail in CI), start it in the foreground, stop it
upstream  a slow Python HTTP server the proxies forward to
client    probes: one request each, what the client sees and what the server logs
site      the static files served, and the access logs a test reads back
nginx     nginx's config, access logs and probes
apache    Apache httpd's config, access logs and probes
harness   start a server, play its probes, wait for the log lines, stop it
chromium  headless Chromium over the DevTools pipe, for the dashboard tests
"""
