"""The API's Chalice blueprints (Chalice packages app-local code from `chalicelib`)."""

# Before any blueprint imports pydantic: in a Lambda runtime, importing the product pauses garbage
# collection until the first invocation ends (ventas.coldstart).
import ventas  # noqa: F401
