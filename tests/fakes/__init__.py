"""In-memory fakes behind the product's ports (tests only; never shipped)."""
