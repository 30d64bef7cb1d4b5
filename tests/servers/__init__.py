"""A harness that runs real nginx, Apache httpd and HAProxy on loopback (the real-server tests).

network   free ports, waiting for a listener
process   find a server binary (skip, or fail in CI), start it in the foreground, stop it
upstream  a slow Python HTTP server the proxies forward to
client    probes: one request each, what the client sees and what the server logs
site      the static files served, and the access logs a test reads back
nginx     nginx's config, access logs and probes
apache    Apache httpd's config, access logs and probes
haproxy   HAProxy's config, its raw and syslog access logs, probes and termination states
harness   start a server, play its probes, wait for the log lines, stop it
outputs   logstat's summaries and exports of a server's logs, run a few at a time
chromium  headless Chromium over the DevTools pipe, for the dashboard tests
s3        moto's S3 server, for the object-storage tests
azurite   Azurite (Azure Blob's emulator, from npm), for the Azure tests
deliveries  ALB deliveries as a bucket holds them
"""
