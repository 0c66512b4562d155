"""Security headers on every response.

- Nothing the portal answers is kept in a browser's or a proxy's cache (`no-store`), unless
  a view says otherwise (the static assets do): its pages and the API carry health data, and
  a shared computer's back button must not show them after logout.
- A Content Security Policy that allows only the portal's own origin for everything
  (no network at run time, and an injected reference to elsewhere loads nothing), no
  framing (clickjacking), no plugins, forms posted only to the portal. deform's widgets
  start themselves with inline scripts, so inline scripts and styles are allowed; nothing
  needs eval. A view that sets its own policy keeps it (files are served sandboxed).
- No MIME sniffing, and no URL (unit codes, record ids) sent to other sites as a referrer.
"""

CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self' 'unsafe-inline'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data: blob:",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}


def add_headers(event) -> None:
    headers = event.response.headers
    for name, value in HEADERS.items():
        headers.setdefault(name, value)
    if "Cache-Control" not in headers:
        headers["Cache-Control"] = "no-store"


def includeme(config):
    from pyramid.events import NewResponse

    config.add_subscriber(add_headers, NewResponse)
