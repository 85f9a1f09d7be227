"""The API's Chalice blueprints (Chalice packages app-local code from `chalicelib`)."""
