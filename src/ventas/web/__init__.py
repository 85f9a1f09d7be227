"""The HTTP API's logic, free of any web framework: auth, errors, views, contract, OpenAPI.

The Chalice app in `functions/api` only parses, calls these and the services, and shapes.
"""
