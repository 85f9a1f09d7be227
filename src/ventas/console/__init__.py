"""The people's console: server-rendered pages (Jinja2 + htmx) for agents, supervisors and ops.

Pages are served by the API function (`functions/api/chalicelib/console*.py`) and call the same
service functions as the JSON routes. This package holds what is not Chalice: settings, the
session (cookies, CSRF, sign-in), rendering, SVG drawings and PDFs.
"""
