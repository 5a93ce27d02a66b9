"""The console: one web UI over the gateway's own API, served at /console (docs/console.md).

Static files only, no build step: ES modules in `static/`, one module per page in `static/pages/`. Every
action is a call to the same `/v1` API the CLI and SDK use, under the logged-in key or token, so the console
adds no privileged path: what the policy denies never reaches the browser, and the navigation shows only the
pages whose actions `GET /v1/me` grants.
"""
