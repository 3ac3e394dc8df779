"""Orders: the source of a refund's facts (the shared orders contract).

fields    the contract's fields and their validation (one row at a time)
store     upsert by order number through SQLAlchemy Core, order history, ticket linking
importer  `esimdesk orders import PATH...` (CSV, JSONL)
lookup    the shop's lookup command (`[orders] lookup`)
facts     refund facts from an order, their provenance, the order as known at an instant
"""
